"""Runs inside a fresh mount namespace (started through `unshare -m`): bind-mounts the pod's
volumes and its termination-message file at the paths the container expects, then execs the
container's command, so the command's pid is the one the node agent signals.

Mount points that don't exist on the host are created (empty) before binding: a mount needs a target."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _mount_point(source: Path, target: Path) -> None:
    if source.is_dir():
        target.mkdir(parents=True, exist_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.touch()


def bind(source: str, target: str, read_only: bool) -> None:
    _mount_point(Path(source), Path(target))
    subprocess.run(["mount", "--bind", source, target], check=True)
    if read_only:
        subprocess.run(["mount", "-o", "remount,bind,ro", target], check=True)


def mount_order(binds: list[list]) -> list[list]:
    """Binds whose target hides another bind's source (an emptyDir over /tmp while a hostPath source
    lives under /tmp) go last, so every source is looked up before anything covers it."""

    def covers_another_source(bind: list) -> bool:
        prefix = bind[1].rstrip("/") + "/"
        return any(str(other[0]).startswith(prefix) for other in binds if other is not bind)

    return sorted(binds, key=covers_another_source)


def main(plan_path: str) -> None:
    plan = json.loads(Path(plan_path).read_text())
    for source, target, read_only in mount_order(plan["binds"]):
        bind(source, target, read_only)
    if plan["working_dir"]:
        Path(plan["working_dir"]).mkdir(parents=True, exist_ok=True)
        os.chdir(plan["working_dir"])
    argv = plan["argv"]
    try:
        os.execvpe(argv[0], argv, plan["env"])
    except OSError as exc:
        # What a runtime reports for a missing executable; exit code 127 like a shell.
        print(f"exec {argv[0]!r}: {exc.strerror}", file=sys.stderr)
        sys.exit(127)


if __name__ == "__main__":
    main(sys.argv[1])
