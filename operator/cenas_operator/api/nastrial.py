"""NASTrial: one unit of work of a NASSearch, run as one pod at a time.

Field meanings are documented once, in the CRD (kubectl explain) and docs/API.md.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from cenas_spaces import OPS

from .base import API_VERSION, ApiModel, Conditions
from .nassearch import SearchSpace

_OP = "(" + "|".join(OPS) + ")"
# The canonical NB201 cell string (cenas_spaces.format_arch) as the CRD's CEL rules check it:
# |op~0|+|op~0|op~1|+|op~0|op~1|op~2|. [|] and [+] instead of escapes keep the same text valid in
# Python, YAML and CEL; a unit test checks the CRD contains exactly this pattern.
NB201_CELL_PATTERN = f"^[|]{_OP}~0[|][+][|]{_OP}~0[|]{_OP}~1[|][+][|]{_OP}~0[|]{_OP}~1[|]{_OP}~2[|]$"

Architecture = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class TrialRole(StrEnum):
    SUPERNET_TRAINING = "SupernetTraining"
    CANDIDATE_SCORING = "CandidateScoring"
    FULL_TRAINING = "FullTraining"


class EnergySource(StrEnum):
    NVML = "NVML"
    ESTIMATE = "Estimate"


class TrialConditionType(StrEnum):
    """The condition types set on a NASTrial (docs/API.md says when)."""

    RUNNING = "Running"
    SUSPENDED = "Suspended"
    COMPLETE = "Complete"
    FAILED = "Failed"


class NASTrialSpec(ApiModel):
    search_space: SearchSpace
    role: TrialRole
    architecture: Architecture | None = None
    candidates: list[Architecture] | None = Field(None, min_length=1, max_length=128)
    supernet_trial: (
        Annotated[str, StringConstraints(max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")] | None
    ) = None
    epochs: int | None = Field(None, ge=1, le=10000)
    gpus: int = Field(1, ge=1, le=64)
    seed: int | None = Field(None, ge=0, le=2147483647)
    suspend: bool = False


class Progress(ApiModel):
    step: int | None = Field(None, ge=0)
    total_steps: int | None = Field(None, ge=0)


class Checkpoint(ApiModel):
    step: int = Field(ge=0)
    time: datetime
    path: Annotated[str, StringConstraints(max_length=1024)]


class Suspensions(ApiModel):
    clean: int = Field(0, ge=0)
    unclean: int = Field(0, ge=0)
    lost_work_seconds: float = Field(0, ge=0)


class CandidateScore(ApiModel):
    architecture: Annotated[str, StringConstraints(max_length=128)]
    accuracy_percent: float = Field(ge=0, le=100)


class TrialResult(ApiModel):
    accuracy_percent: float | None = Field(None, ge=0, le=100)
    params: int | None = Field(None, ge=0)
    flops: int | None = Field(None, ge=0)
    scores: list[CandidateScore] | None = Field(None, max_length=128)


class NASTrialStatus(ApiModel):
    observed_generation: int | None = Field(None, ge=0)
    conditions: Conditions | None = None
    attempt: int | None = Field(None, ge=0)
    pod_name: Annotated[str, StringConstraints(max_length=253)] | None = None
    start_time: datetime | None = None
    completion_time: datetime | None = None
    progress: Progress | None = None
    last_checkpoint: Checkpoint | None = None
    energy_joules: float | None = Field(None, ge=0)
    energy_source: EnergySource | None = None
    emitted_grams: float | None = Field(None, ge=0)
    suspensions: Suspensions | None = None
    result: TrialResult | None = None


class NASTrial(ApiModel):
    api_version: Literal["cenas.dev/v1alpha1"] = API_VERSION
    kind: Literal["NASTrial"] = "NASTrial"
    metadata: dict[str, Any] = Field(default_factory=dict)
    spec: NASTrialSpec
    status: NASTrialStatus | None = None
