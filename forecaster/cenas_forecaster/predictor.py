"""Run the trained network on an hourly series: quantile forecasts in gCO2eq/kWh (numpy in, numpy out)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .features import denormalise, make_windows
from .model import ForecastTransformer, ModelConfig
from .series import HourlySeries

WEIGHTS_PATH = Path(__file__).parent / "weights" / "forecaster.pt"
BATCH = 512


class Predictor:
    """An ensemble of networks; its quantiles are the geometric means of the members' quantiles."""

    def __init__(self, members: ForecastTransformer | list[ForecastTransformer]) -> None:
        self.members = [m.eval() for m in (members if isinstance(members, list) else [members])]
        self.quantile_levels = tuple(self.members[0].config.quantiles)
        self.median_index = self.quantile_levels.index(0.5)

    @classmethod
    def load(cls, path: Path = WEIGHTS_PATH) -> Predictor:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        config = dict(blob["model"])
        config["quantiles"] = tuple(config["quantiles"])
        members = []
        for state in blob["members"]:
            model = ForecastTransformer(ModelConfig(**config))
            model.load_state_dict(state)
            members.append(model)
        return cls(members)

    def level_index(self, level: float) -> int:
        return self.quantile_levels.index(level)

    def quantiles(self, series: HourlySeries, issue_index: np.ndarray) -> np.ndarray:
        """(n, 96, Q) quantiles for forecasts issued at the given hours, each from the data before it."""
        return self.quantiles_of(series.values, series.start_seconds, issue_index)

    def quantiles_of(self, values: np.ndarray, start_seconds: int, issue_index: np.ndarray) -> np.ndarray:
        out = []
        with torch.no_grad():
            for lo in range(0, len(issue_index), BATCH):
                w = make_windows(values, start_seconds, issue_index[lo : lo + BATCH])
                past, calendar = torch.from_numpy(w.past), torch.from_numpy(w.calendar)
                z = np.mean([m(past, calendar).numpy().astype(np.float64) for m in self.members], axis=0)
                out.append(denormalise(z, w.scale))
        if not out:
            return np.empty((0, 96, len(self.quantile_levels)))
        return np.concatenate(out)
