"""`python -m cenas_operator [kopf run options]`: the operator's entrypoint (the image's, the chart's, the
demo's). It is `kopf run --standalone -m cenas_operator.main` watching the namespaces of CENAS_NAMESPACES
(every namespace when empty), so that the scope is a setting like every other; the options (--liveness,
--verbose, ...) go to kopf."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from cenas_operator.config import Settings

SCOPE_OPTIONS = ("--namespace", "--all-namespaces", "-A")


def kopf_args(namespaces: Sequence[str], options: Sequence[str]) -> list[str]:
    """kopf's command line: standalone (one replica, no peering objects), scoped by `namespaces` alone: kopf's
    own scope options are refused rather than merged with the setting."""
    for option in options:
        if option.split("=", 1)[0] in SCOPE_OPTIONS or option.startswith("-n"):
            raise ValueError(f"{option}: the watched namespaces come from CENAS_NAMESPACES (empty: all)")
    scope = [f"--namespace={ns}" for ns in namespaces] or ["--all-namespaces"]
    return ["run", "--standalone", *scope, "-m", "cenas_operator.main", *options]


def main(argv: Sequence[str] | None = None) -> None:
    from kopf.cli import main as kopf_cli  # the `kopf` command itself (a click group)

    try:
        args = kopf_args(Settings.from_env().namespaces, sys.argv[1:] if argv is None else argv)
    except ValueError as exc:  # a malformed setting or a scope option: exit 1 with the reason, no traceback
        sys.exit(f"python -m cenas_operator: {exc}")
    kopf_cli(args=args, prog_name="python -m cenas_operator")


if __name__ == "__main__":
    main()
