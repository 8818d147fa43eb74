"""kopf's bodies as plain dicts: handlers and indexes keep snapshots, never kopf's live views."""

from __future__ import annotations


def plain(value):
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
