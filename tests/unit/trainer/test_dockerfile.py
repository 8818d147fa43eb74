"""The trainer image's Dockerfile: hadolint-clean, exec-form entrypoint that runs as a process."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import image_entrypoint, trainer_cmd, trainer_env

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = REPO / "trainer-image" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    out, pending = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        pending += line[:-1] + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            word, _, rest = pending.partition(" ")
            out.append((word.upper(), rest.strip()))
            pending = ""
    return out


def test_hadolint_finds_nothing():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    proc = subprocess.run([hadolint, "--failure-threshold", "style", str(DOCKERFILE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_image_runs_non_root_and_copies_only_what_exists():
    steps = instructions()
    user = [rest for word, rest in steps if word == "USER"][-1]
    assert user.split(":")[0].isdigit() and user.split(":")[0] != "0"
    for word, rest in steps:
        if word == "COPY":
            for source in rest.split()[:-1]:
                assert (REPO / source).exists(), source
    ignore = (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text()
    assert "!trainer-image/cenas_trainer/" in ignore and "!spaces/cenas_spaces/" in ignore


def test_the_entrypoint_command_runs_from_any_directory(tmp_path):
    # The SIGTERM, resume and accuracy tests in test_cli.py all run this same command (conftest.trainer_cmd).
    argv = image_entrypoint()
    assert argv == ["python", "-m", "cenas_trainer"]
    help_text = subprocess.run(trainer_cmd("train", "--help"), capture_output=True, text=True, cwd=tmp_path,
                               check=True, env=trainer_env())
    for flag in ("--arch", "--dataset", "--data-dir", "--epochs", "--checkpoint-dir", "--trial", "--seed", "--report"):
        assert flag in help_text.stdout
    bad = subprocess.run(trainer_cmd("train", "--arch", "x", "--dataset", "digits", "--epochs", "1",
                                     "--checkpoint-dir", str(tmp_path), "--trial", "t"),
                         capture_output=True, text=True, cwd=tmp_path, env=trainer_env())
    assert bad.returncode == 2 and json.loads(bad.stdout)["exit_code"] == 2
