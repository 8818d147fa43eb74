"""Pure helpers for status.conditions in the metav1.Condition shape (a list-map keyed by type).

`lastTransitionTime` changes only when the status flips, so re-asserting a condition on every
reconcile pass is a no-op write; `observedGeneration` says which spec the observation is about."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence


def rfc3339(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_micro(now: dt.datetime) -> str:
    """With microseconds (as metav1.MicroTime), for a time that is compared with another machine's."""
    return now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def find(conditions: Sequence[dict] | None, kind: str) -> dict | None:
    return next((c for c in conditions or [] if c.get("type") == kind), None)


def is_true(conditions: Sequence[dict] | None, kind: str) -> bool:
    found = find(conditions, kind)
    return found is not None and found.get("status") == "True"


def set_condition(
    conditions: Sequence[dict] | None,
    kind: str,
    status: bool | str,
    reason: str,
    message: str,
    *,
    generation: int | None,
    now: dt.datetime,
    precise: bool = False,
) -> list[dict]:
    """A new list with `kind` set; the other conditions keep their order and values. `precise` writes
    a new transition time with microseconds (for a time that is compared, not just shown)."""
    value = ("True" if status else "False") if isinstance(status, bool) else status
    previous = find(conditions, kind)
    transition = (
        previous["lastTransitionTime"]
        if previous is not None and previous.get("status") == value and previous.get("lastTransitionTime")
        else (rfc3339_micro(now) if precise else rfc3339(now))
    )
    updated = {
        "type": kind,
        "status": value,
        "reason": reason,
        "message": message[:32768],
        "lastTransitionTime": transition,
    }
    if generation is not None:
        updated["observedGeneration"] = generation
    result = [c for c in conditions or [] if c.get("type") != kind]
    index = next((i for i, c in enumerate(conditions or []) if c.get("type") == kind), len(result))
    result.insert(index, updated)
    return result


def remove_condition(conditions: Sequence[dict] | None, kind: str) -> list[dict]:
    return [c for c in conditions or [] if c.get("type") != kind]
