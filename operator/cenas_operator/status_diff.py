"""Write only what changed: most reconcile passes change nothing, and at a thousand trials every no-op
status PATCH is load on the API server for nothing. Pure."""

from __future__ import annotations

from collections.abc import Mapping


def differs(current, wanted) -> bool:
    """Whether `wanted` must be written over `current`; in a dict, None (a key to clear) equals absent."""
    if isinstance(wanted, Mapping) and (current is None or isinstance(current, Mapping)):
        current = current or {}
        return any(differs(current.get(k), v) for k, v in wanted.items()) or bool(set(current) - set(wanted))
    return current != wanted


def changed(current: Mapping | None, wanted: Mapping) -> dict:
    """The top-level fields of `wanted` that differ from `current` (a status as read)."""
    current = current or {}
    return {key: value for key, value in wanted.items() if differs(current.get(key), value)}
