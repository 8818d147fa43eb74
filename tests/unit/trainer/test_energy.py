"""Energy meters: NVML counter deltas over the visible GPUs, or watts x time labelled estimated."""

import sys
import types

import pytest

from cenas_trainer.energy import EstimatedMeter, NvmlMeter, _visible_handles, open_meter


class FakeNvml(types.SimpleNamespace):
    def __init__(self, counters):
        super().__init__(counters=counters, shutdowns=0)

    def nvmlInit(self):
        pass

    def nvmlShutdown(self):
        self.shutdowns += 1

    def nvmlDeviceGetCount(self):
        return len(self.counters)

    def nvmlDeviceGetHandleByIndex(self, i):
        return i

    def nvmlDeviceGetHandleByUUID(self, uuid):
        return int(uuid.rsplit("-", 1)[1])

    def nvmlDeviceGetTotalEnergyConsumption(self, handle):
        return self.counters[handle]  # millijoules


def test_estimate_is_watts_times_elapsed_time():
    now = [100.0]
    meter = EstimatedMeter(250.0, clock=lambda: now[0])
    now[0] += 4.0
    assert meter.joules() == pytest.approx(1000.0)
    assert meter.source == "estimated"


def test_nvml_meter_sums_counter_deltas_of_visible_gpus(monkeypatch):
    nvml = FakeNvml([5_000_000, 7_000_000, 9_000_000])
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,GPU-x-2")
    meter = NvmlMeter(nvml, _visible_handles(nvml))
    nvml.counters[0] += 1500
    nvml.counters[1] += 999_000  # not visible to this process
    nvml.counters[2] += 2500
    assert meter.joules() == pytest.approx(4.0)
    assert meter.source == "nvml"
    meter.close()
    assert nvml.shutdowns == 1


def test_open_meter_uses_nvml_when_it_works_and_falls_back_otherwise(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml([1, 2]))
    assert open_meter(300.0).source == "nvml"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # no GPU for this process
    meter = open_meter(300.0)
    assert isinstance(meter, EstimatedMeter) and meter.watts == 300.0
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert open_meter(300.0, use_nvml=False).source == "estimated"
