import pytest

from cenas_operator.ledger import Ledger, accrue, counterfactual_grams, grams


def test_one_kilowatt_hour_at_400_grams():
    assert grams(3.6e6, 400.0) == pytest.approx(400.0)


def test_negative_inputs_are_errors_not_zero():
    with pytest.raises(ValueError, match="energy"):
        grams(-1.0, 100.0)
    with pytest.raises(ValueError, match="intensity"):
        grams(1.0, -5.0)


def test_accrue_charges_only_new_energy_at_this_intervals_intensity():
    ledger = accrue(Ledger(), {"a": 3.6e6}, 100.0)
    ledger = accrue(ledger, {"a": 7.2e6, "b": 3.6e6}, 300.0)
    assert ledger.energy_joules == pytest.approx(10.8e6)
    assert ledger.emitted_grams == pytest.approx(100.0 + 2 * 300.0)


def test_replaying_a_report_is_idempotent_and_a_reset_meter_charges_nothing():
    ledger = accrue(Ledger(), {"a": 3.6e6}, 100.0)
    assert accrue(ledger, {"a": 3.6e6}, 500.0) == ledger
    after_reset = accrue(ledger, {"a": 1.0e6}, 500.0)
    assert after_reset.emitted_grams == ledger.emitted_grams
    assert after_reset.seen_joules["a"] == 3.6e6


def test_counterfactual_spends_energy_at_full_power_from_the_start():
    # 1 kW for 1 h = 3.6 MJ per interval; 5.4 MJ spans 1.5 intervals.
    assert counterfactual_grams(5.4e6, 1000.0, [100.0, 200.0, 900.0], 3600.0) == pytest.approx(100.0 + 100.0)


def test_counterfactual_refuses_a_series_too_short():
    with pytest.raises(ValueError, match="too short"):
        counterfactual_grams(10e6, 1000.0, [100.0], 3600.0)
