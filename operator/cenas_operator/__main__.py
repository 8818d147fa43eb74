"""`python -m cenas_operator [kopf run options]`: the operator's entrypoint (the image's, the chart's, the
demo's). It is `kopf run --standalone -m cenas_operator.main` watching the namespaces of CENAS_NAMESPACES
(every namespace when empty), so that the scope is a setting like every other; the options (--liveness,
--verbose, ...) go to kopf."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from cenas_operator.config import Settings

SCOPE_OPTIONS = ("--namespace", "--all-namespaces")
SCOPE_FLAGS = "nA"  # -n, -A, also inside combined short flags (-vA, -qn team)
# click reads kopf run's options from KOPF_RUN_<PARAMETER> too, and kopf itself a legacy KOPF_RUN_NAMESPACE
SCOPE_VARIABLES = ("KOPF_RUN_NAMESPACE", "KOPF_RUN_NAMESPACES", "KOPF_RUN_CLUSTERWIDE")


def kopf_args(namespaces: Sequence[str], options: Sequence[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """kopf's command line: standalone (one replica, no peering objects), scoped by `namespaces` alone: kopf's
    own scope options and variables (in `environ`) are refused rather than merged with the setting."""
    why = "the watched namespaces come from CENAS_NAMESPACES (empty: all)"
    environ = environ or {}
    for option in options:
        short = option.startswith("-") and not option.startswith("--")
        if option.split("=", 1)[0] in SCOPE_OPTIONS or (short and set(option[1:]) & set(SCOPE_FLAGS)):
            raise ValueError(f"{option}: {why}")
    for variable in SCOPE_VARIABLES:
        if environ.get(variable):
            raise ValueError(f"{variable} is set: {why}")
    scope = [f"--namespace={ns}" for ns in namespaces] or ["--all-namespaces"]
    return ["run", "--standalone", *scope, "-m", "cenas_operator.main", *options]


def main(argv: Sequence[str] | None = None) -> None:
    from kopf.cli import main as kopf_cli  # the `kopf` command itself (a click group)

    try:
        args = kopf_args(Settings.from_env().namespaces, sys.argv[1:] if argv is None else argv, os.environ)
    except ValueError as exc:  # a malformed setting or a scope option: exit 1 with the reason, no traceback
        sys.exit(f"python -m cenas_operator: {exc}")
    kopf_cli(args=args, prog_name="python -m cenas_operator")


if __name__ == "__main__":
    main()
