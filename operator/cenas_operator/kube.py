"""Kubernetes client calls answered as plain JSON.

The client turns every response into its model objects (a pod: some 0.7 ms of CPU, and a dict again costs as
much): at a burst of 1,600 pod writes that is seconds of the operator's one core, for bodies the handlers
read as dicts anyway."""

from __future__ import annotations

import json


def json_call(call, *args, **kwargs) -> dict:
    """`call(*args, **kwargs)` (a kubernetes client API method) read as JSON; an error status still raises
    ApiException. The connection goes back to the pool once the body is read."""
    response = call(*args, _preload_content=False, **kwargs)
    try:
        return json.loads(response.data)
    finally:
        response.release_conn()
