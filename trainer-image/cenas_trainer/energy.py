"""Energy of this process's accelerators: NVML counters where a GPU exists, else an estimate.

``NvmlMeter`` reads each visible GPU's total-energy counter (millijoules since the driver loaded) and
reports the difference since the meter started. ``EstimatedMeter`` multiplies configured watts by the
wall time and says so (source ``estimated``). Both count from their own start; a resumed run adds the
energy recorded in the checkpoint it resumed from.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import Protocol

log = logging.getLogger(__name__)


class EnergyMeter(Protocol):
    source: str

    def joules(self) -> float: ...

    def close(self) -> None: ...


class EstimatedMeter:
    source = "estimated"

    def __init__(self, watts: float, clock=time.monotonic):
        if watts < 0:
            raise ValueError("watts must be non-negative")
        self.watts = watts
        self._clock = clock
        self._t0 = clock()

    def joules(self) -> float:
        return self.watts * (self._clock() - self._t0)

    def close(self) -> None:
        pass


def _visible_handles(nvml) -> list:
    """NVML handles of the GPUs this process may use (CUDA_VISIBLE_DEVICES, indices or UUIDs)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None or visible.strip() == "":
        if visible is not None:
            return []
        return [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())]
    handles = []
    for item in visible.split(","):
        item = item.strip()
        if item.isdigit():
            handles.append(nvml.nvmlDeviceGetHandleByIndex(int(item)))
        elif item:
            handles.append(nvml.nvmlDeviceGetHandleByUUID(item))
    return handles


class NvmlMeter:
    source = "nvml"

    def __init__(self, nvml, handles: list):
        if not handles:
            raise RuntimeError("no GPU visible to NVML")
        self._nvml = nvml
        self._handles = handles
        self._start = self._millijoules()

    def _millijoules(self) -> int:
        return sum(int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(h)) for h in self._handles)

    def joules(self) -> float:
        return (self._millijoules() - self._start) / 1000.0

    def close(self) -> None:
        with contextlib.suppress(Exception):  # best effort at exit
            self._nvml.nvmlShutdown()


def open_meter(fallback_watts: float, use_nvml: bool = True) -> EnergyMeter:
    """An NVML meter when NVML works and sees a GPU with an energy counter, else an estimate."""
    if use_nvml:
        try:
            import pynvml  # from nvidia-ml-py

            pynvml.nvmlInit()
            try:
                meter = NvmlMeter(pynvml, _visible_handles(pynvml))
            except Exception:
                pynvml.nvmlShutdown()
                raise
            return meter
        except Exception as exc:  # no driver, no GPU, or no energy counter (pre-Volta)
            log.info("NVML energy counters unavailable (%s); estimating %.0f W x time", exc, fallback_watts)
    return EstimatedMeter(fallback_watts)
