"""Pure carbon accounting: energy x intensity, the run-now counterfactual and the avoided grams.

Energy comes from what trainers report (cumulative joules per trial); intensity is the realized
grid intensity over the interval in which that energy was used. Units are in the names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

JOULES_PER_KILOWATT_HOUR = 3.6e6


def grams(energy_joules: float, intensity_grams_per_kilowatt_hour: float) -> float:
    """Emissions of `energy_joules` drawn at one intensity."""
    if energy_joules < 0:
        raise ValueError(f"energy must be non-negative, got {energy_joules} J")
    if intensity_grams_per_kilowatt_hour < 0:
        raise ValueError(f"intensity must be non-negative, got {intensity_grams_per_kilowatt_hour} g/kWh")
    return energy_joules / JOULES_PER_KILOWATT_HOUR * intensity_grams_per_kilowatt_hour


@dataclass(frozen=True)
class Ledger:
    """What a search has used so far; `seen_joules` remembers each trial's last reported total and
    `trial_grams` what each trial emitted."""

    emitted_grams: float = 0.0
    energy_joules: float = 0.0
    seen_joules: Mapping[str, float] = field(default_factory=dict)
    trial_grams: Mapping[str, float] = field(default_factory=dict)


def accrue(ledger: Ledger, reported_joules: Mapping[str, float], intensity_grams_per_kilowatt_hour: float) -> Ledger:
    """Charge the energy each trial reported since the last pass at this interval's intensity.

    Reports are cumulative per trial, so replaying the same report charges nothing (idempotent
    across operator restarts as long as `seen_joules` is persisted). A smaller total than before
    (a trainer that restarted its meter) charges nothing rather than a negative amount."""
    seen, per_trial = dict(ledger.seen_joules), dict(ledger.trial_grams)
    delta_total = 0.0
    for trial, total in reported_joules.items():
        delta = max(0.0, total - seen.get(trial, 0.0))
        seen[trial] = max(total, seen.get(trial, 0.0))
        per_trial[trial] = per_trial.get(trial, 0.0) + grams(delta, intensity_grams_per_kilowatt_hour)
        delta_total += delta
    return Ledger(
        emitted_grams=ledger.emitted_grams + grams(delta_total, intensity_grams_per_kilowatt_hour),
        energy_joules=ledger.energy_joules + delta_total,
        seen_joules=seen,
        trial_grams=per_trial,
    )


def counterfactual_grams(
    energy_joules: float, full_power_watts: float, intensities: Sequence[float], interval_seconds: float
) -> float:
    """Emissions had the same energy been drawn at full allocation from the start.

    `intensities` are the realized values of consecutive intervals from the search's start; the
    energy is spent at `full_power_watts` until used up. Raises when the series is too short to hold it."""
    if full_power_watts <= 0 or interval_seconds <= 0:
        raise ValueError("full_power_watts and interval_seconds must be positive")
    remaining = energy_joules
    total = 0.0
    per_interval = full_power_watts * interval_seconds
    for intensity in intensities:
        if remaining <= 0:
            break
        used = min(per_interval, remaining)
        total += grams(used, intensity)
        remaining -= used
    if remaining > 1e-9:
        raise ValueError(
            f"{remaining:.0f} J left after {len(intensities)} intervals: the intensity series is too short"
        )
    return total
