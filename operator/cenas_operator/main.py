"""kopf registration table: one line per handler; the logic lives in the modules it names."""

import kopf

from cenas_operator import search_handler, startup, trial_handler
from cenas_operator.api import GROUP, VERSION
from cenas_operator.builders import LABEL_TRIAL
from cenas_operator.config import Settings

SETTINGS = Settings.from_env()  # the search tick is needed here, at registration

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

# Trials are event-driven: their own and their pods' watch events queue them for the trial workers.
kopf.on.event(GROUP, VERSION, "nastrials", id="trial-events")(trial_handler.on_trial_event)
kopf.on.event("", "v1", "pods", labels={LABEL_TRIAL: kopf.PRESENT}, id="pod-events")(trial_handler.on_pod_event)
