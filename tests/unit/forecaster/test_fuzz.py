"""Fuzz the HTTP API against its own OpenAPI document (schemathesis, positive and negative cases)."""

import schemathesis
from hypothesis import HealthCheck, settings

from cenas_forecaster.config import Settings
from cenas_forecaster.service.app import create_app

app = create_app(Settings(replay_locations=("CISO", "GB"), calibration_days=2))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case):
    case.call_and_validate()
