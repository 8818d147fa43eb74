import pytest

from cenas_operator.api.nassearch import CarbonMode, Policy
from cenas_operator.config import Settings


def test_defaults_without_environment():
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.default_policy is Policy.PPO


def test_environment_overrides_with_types():
    settings = Settings.from_env({
        "CENAS_FORECASTER_URL": "http://127.0.0.1:9000",
        "CENAS_METRICS_PORT": "9100",
        "CENAS_NAMESPACES": "team-a, team-b",
        "CENAS_DEFAULT_MODE": "Shadow",
        "CENAS_FORECAST_TIMEOUT_SECONDS": "1.5",
        "UNRELATED": "x",
    })
    assert settings.forecaster_url == "http://127.0.0.1:9000"
    assert settings.metrics_port == 9100
    assert settings.namespaces == ("team-a", "team-b")
    assert settings.default_mode is CarbonMode.SHADOW
    assert settings.forecast_timeout_seconds == 1.5


def test_malformed_value_names_the_variable():
    with pytest.raises(ValueError, match="CENAS_METRICS_PORT='ninety'"):
        Settings.from_env({"CENAS_METRICS_PORT": "ninety"})
    with pytest.raises(ValueError, match="CENAS_DEFAULT_POLICY"):
        Settings.from_env({"CENAS_DEFAULT_POLICY": "Greedy"})


def test_forecast_reuse_is_on_by_default_and_never_negative():
    assert Settings.from_env({}).forecast_reuse_seconds == 60.0
    assert Settings.from_env({"CENAS_FORECAST_REUSE_SECONDS": "0"}).forecast_reuse_seconds == 0.0
    with pytest.raises(ValueError, match="CENAS_FORECAST_REUSE_SECONDS must not be negative"):
        Settings.from_env({"CENAS_FORECAST_REUSE_SECONDS": "-1"})
