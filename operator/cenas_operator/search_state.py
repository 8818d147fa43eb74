"""What the operator remembers about a search between passes, beyond its status: the CE-NAS engine's
serialised state, the registry of the trials it planned, the ledger and the realized intensities.

It lives in a ConfigMap `<search>-state` next to the search (owned by it), so a restarted operator
continues exactly: the engine is deterministic given its state, trials are registered here *before*
they are created (a write-ahead log: a registered trial missing from the API is created, never
re-planned), and the ledger remembers each trial's last charged energy report. Pure: (de)serialisation
only; the handler reads and writes the ConfigMap."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from cenas_operator.ledger import Ledger

STATE_FORMAT = 1
STATE_KEY = "state.json"
SUPERNET_PENDING, SUPERNET_DONE, SUPERNET_FAILED = "Pending", "Done", "Failed"
BOOKKEEPING = ("ledger", "intensities", "counterfactual_charged", "worst_intensity")


class SearchStateError(ValueError):
    """A state ConfigMap this operator cannot read (another format, or corrupt)."""


def state_configmap_name(search_name: str) -> str:
    return f"{search_name}-state"


@dataclass
class TrialRecord:
    role: str  # TrialRole value
    index: int  # the trial's number within its role (builders.trial_name)
    rows: list[int] = field(default_factory=list)  # engine rows: the architecture, or the candidates
    consumed: bool = False  # its outcome is in the engine (or it was abandoned)


@dataclass
class SearchState:
    engine: dict | None = None  # search.engine.Search.to_state(); None before the first pass
    trials: dict[str, TrialRecord] = field(default_factory=dict)  # by trial name
    next_index: dict[str, int] = field(default_factory=dict)  # by role value
    supernet: str = SUPERNET_PENDING
    ledger: Ledger = field(default_factory=Ledger)
    start: float | None = None  # wall time of the first pass (seconds): interval 0 of `intensities`
    intensities: list[float] = field(default_factory=list)  # realized g/kWh per decision interval
    counterfactual_charged: float = 0.0  # counterfactual grams already added to the Prometheus counter
    worst_intensity: float | None = None  # highest upper quantile of the last forecast seen

    def register(self, name: str, role: str, rows: list[int]) -> TrialRecord:
        record = TrialRecord(role=role, index=self.next_index.get(role, 0), rows=list(rows))
        self.next_index[role] = record.index + 1
        self.trials[name] = record
        return record

    def plan_json(self) -> str:
        """Everything but the bookkeeping of emissions (ledger, intensities): what must be saved before any
        trial it names is created. The bookkeeping may be saved a little later: a restarted operator
        charges the joules reported since its last save once, at the intensity of its first pass."""
        doc = asdict(self)
        for key in BOOKKEEPING:
            doc.pop(key)
        return json.dumps(doc, separators=(",", ":"), sort_keys=True)

    def to_json(self) -> str:
        doc = asdict(self)
        doc["format"] = STATE_FORMAT
        doc["ledger"] = {
            "emittedGrams": self.ledger.emitted_grams,
            "energyJoules": self.ledger.energy_joules,
            "seenJoules": dict(self.ledger.seen_joules),
            "trialGrams": dict(self.ledger.trial_grams),
        }
        return json.dumps(doc, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SearchState:
        try:
            doc = json.loads(text)
            if doc.get("format") != STATE_FORMAT:
                raise SearchStateError(f"state format {doc.get('format')!r}, this operator reads {STATE_FORMAT}")
            ledger = doc["ledger"]
            return cls(
                engine=doc["engine"],
                trials={name: TrialRecord(**record) for name, record in doc["trials"].items()},
                next_index={k: int(v) for k, v in doc["next_index"].items()},
                supernet=doc["supernet"],
                ledger=Ledger(
                    emitted_grams=float(ledger["emittedGrams"]),
                    energy_joules=float(ledger["energyJoules"]),
                    seen_joules={k: float(v) for k, v in ledger["seenJoules"].items()},
                    trial_grams={k: float(v) for k, v in ledger["trialGrams"].items()},
                ),
                start=doc["start"],
                intensities=[float(v) for v in doc["intensities"]],
                counterfactual_charged=float(doc["counterfactual_charged"]),
                worst_intensity=doc["worst_intensity"],
            )
        except SearchStateError:
            raise
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SearchStateError(f"unreadable search state: {type(exc).__name__}: {exc}") from exc
