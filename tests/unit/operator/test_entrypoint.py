"""`python -m cenas_operator`: kopf's command line scoped by CENAS_NAMESPACES, parsed by kopf's own CLI."""

import pytest
from kopf.cli import main as kopf_cli

from cenas_operator.__main__ import kopf_args, main


def parsed(args: list[str]) -> dict:
    """What kopf's `run` command would be called with (click parses; nothing runs)."""
    command, *rest = args
    return kopf_cli.commands[command].make_context(command, rest).params


def test_no_namespaces_watch_every_namespace_standalone():
    params = parsed(kopf_args((), ["--liveness=http://0.0.0.0:8080/healthz", "--verbose"]))
    assert params["clusterwide"] is True and params["namespaces"] == ()
    assert params["standalone"] is True  # one replica, no peering objects
    assert params["modules"] == ("cenas_operator.main",)
    assert params["liveness_endpoint"] == "http://0.0.0.0:8080/healthz" and params["verbose"] is True


def test_namespaces_become_kopfs_namespace_options():
    params = parsed(kopf_args(("team-a", "team-b"), []))
    assert params["clusterwide"] is False and params["namespaces"] == ("team-a", "team-b")


@pytest.mark.parametrize("option", ["--namespace=x", "--namespace", "-n", "-nx", "--all-namespaces", "-A", "-vA",
                                    "-qn"])
def test_kopf_scope_options_are_refused_not_merged(option):
    with pytest.raises(ValueError, match="CENAS_NAMESPACES"):
        kopf_args(("team-a",), ["--verbose", option])


def test_a_refused_option_or_a_malformed_setting_exits_with_the_reason(monkeypatch):
    with pytest.raises(SystemExit, match="CENAS_NAMESPACES"):
        main(["--all-namespaces"])
    monkeypatch.setenv("CENAS_METRICS_PORT", "ninety")
    with pytest.raises(SystemExit, match="CENAS_METRICS_PORT"):
        main([])


@pytest.mark.parametrize("variable", ["KOPF_RUN_NAMESPACE", "KOPF_RUN_NAMESPACES", "KOPF_RUN_CLUSTERWIDE"])
def test_kopf_scope_variables_are_refused_not_merged(variable):
    with pytest.raises(ValueError, match=f"{variable} is set: the watched namespaces come from CENAS_NAMESPACES"):
        kopf_args(("team-a",), [], {variable: "team-b"})
    assert kopf_args(("team-a",), ["-v"], {variable: "", "KOPF_RUN_PEERING": "x"})[2] == "--namespace=team-a"
