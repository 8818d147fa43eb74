"""python -m cenas_forecaster {evaluate,train,serve} ..."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    commands = ("evaluate", "train", "serve")
    if not argv or argv[0] not in commands:
        print(f"usage: python -m cenas_forecaster {{{','.join(commands)}}} [options]", file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "evaluate":
        from .evaluate import main as run
    elif command == "train":
        from .train import main as run
    else:
        from .serve import main as run
    return run(rest)


if __name__ == "__main__":
    sys.exit(main())
