"""kopf registration table: one line per handler; the logic lives in the modules it names."""

import kopf

from cenas_operator import startup, trial_handler
from cenas_operator.api import GROUP, VERSION

TRIAL_TICK_SECONDS = 2.0

kopf.on.login(id="login")(startup.login)
kopf.on.startup(id="configure")(startup.configure)
kopf.timer(GROUP, VERSION, "nastrials", id="trial-lifecycle", interval=TRIAL_TICK_SECONDS)(
    trial_handler.reconcile_trial
)
