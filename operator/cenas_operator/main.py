"""kopf registration table: one line per handler; the logic lives in the modules it names."""

import kopf

from cenas_operator import search_handler, startup, trial_handler
from cenas_operator.api import GROUP, VERSION
from cenas_operator.builders import LABEL_TRIAL
from cenas_operator.config import Settings

SETTINGS = Settings.from_env()  # the tick intervals are needed here, at registration

kopf.on.login(id="login")(startup.login)
kopf.on.startup(id="configure")(startup.configure)
kopf.on.cleanup(id="shutdown")(startup.shutdown)

kopf.index(GROUP, VERSION, "nastrials", id="trials_by_search")(search_handler.trials_by_search)
kopf.index("", "v1", "pods", labels={LABEL_TRIAL: kopf.PRESENT}, id="pods_by_name")(trial_handler.pods_by_name)
# A failed pass (an API conflict, the forecaster timing out) is retried soon, not after kopf's default 60 s.
kopf.timer(GROUP, VERSION, "nassearches", id="search-loop", interval=SETTINGS.search_tick_seconds,
           backoff=2.0)(
    search_handler.reconcile_search
)
kopf.on.delete(GROUP, VERSION, "nassearches", id="search-cleanup")(search_handler.delete_search)

# Finished trials need no tick: their timers stop (the filter is re-evaluated on every change).
kopf.timer(GROUP, VERSION, "nastrials", id="trial-lifecycle", interval=SETTINGS.trial_tick_seconds, backoff=2.0,
           when=trial_handler.unfinished)(trial_handler.reconcile_trial)
# A changed spec.suspend (the search loop's lever) or a new trial is acted on at once, not at the next tick.
kopf.on.create(GROUP, VERSION, "nastrials", id="trial-created")(trial_handler.reconcile_trial)
kopf.on.field(GROUP, VERSION, "nastrials", field="spec.suspend", id="trial-suspend")(trial_handler.reconcile_trial)
