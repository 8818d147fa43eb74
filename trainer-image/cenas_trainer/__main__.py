import sys

from cenas_trainer.cli import main

sys.exit(main())
