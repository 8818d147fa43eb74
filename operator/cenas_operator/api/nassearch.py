"""NASSearch: the user's search (spec) and what the operator observed of it (status).

Field meanings are documented once, in the CRD (kubectl explain) and docs/API.md.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from .base import API_VERSION, ApiModel, Conditions

DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
ABSOLUTE_PATH = r"^/[^\x00]*$"
# A Kubernetes quantity without a sign: resources are never negative.
QUANTITY = r"^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
EXTENDED_RESOURCE = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"


class SearchSpace(StrEnum):
    NB201 = "NB201"


class Metric(StrEnum):
    ACCURACY = "Accuracy"
    PARAMS = "Params"
    FLOPS = "FLOPs"


class Direction(StrEnum):
    MAXIMIZE = "Maximize"
    MINIMIZE = "Minimize"


class DatasetName(StrEnum):
    CIFAR10 = "cifar10"
    CIFAR100 = "cifar100"
    IMAGENET16_120 = "ImageNet16-120"
    DIGITS = "digits"


class Policy(StrEnum):
    PPO = "PPO"
    RULE_BASED = "RuleBased"
    CARBON_AGNOSTIC = "CarbonAgnostic"


class CarbonMode(StrEnum):
    ACTIVE = "Active"
    SHADOW = "Shadow"


class DecisionAction(StrEnum):
    SCALE_UP = "ScaleUp"
    SCALE_DOWN = "ScaleDown"
    HOLD = "Hold"
    SUSPEND = "Suspend"


class TolerationOperator(StrEnum):
    EXISTS = "Exists"
    EQUAL = "Equal"


class TaintEffect(StrEnum):
    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"


class SearchConditionType(StrEnum):
    """The condition types the operator sets on a NASSearch (docs/API.md says when)."""

    READY = "Ready"
    PROGRESSING = "Progressing"
    SUSPENDED = "Suspended"
    COMPLETE = "Complete"
    FAILED = "Failed"
    FORECAST_AVAILABLE = "ForecastAvailable"
    BUDGET_EXHAUSTED = "BudgetExhausted"
    DEADLINE_AT_RISK = "DeadlineAtRisk"


AbsolutePath = Annotated[str, StringConstraints(min_length=1, max_length=1024, pattern=ABSOLUTE_PATH)]
Quantity = Annotated[int, Field(ge=0)] | Annotated[str, StringConstraints(max_length=64, pattern=QUANTITY)]


class Objective(ApiModel):
    metric: Metric
    direction: Direction


DEFAULT_OBJECTIVES = [
    Objective(metric=Metric.ACCURACY, direction=Direction.MAXIMIZE),
    Objective(metric=Metric.PARAMS, direction=Direction.MINIMIZE),
]


class PersistentVolumeClaimSource(ApiModel):
    claim_name: Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN)]


class HostPathSource(ApiModel):
    path: AbsolutePath


class NFSSource(ApiModel):
    server: Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9:.\[\]-]+$")]
    path: AbsolutePath


class VolumeSource(ApiModel):
    """A subset of core/v1 VolumeSource: exactly one of the three durable sources."""

    persistent_volume_claim: PersistentVolumeClaimSource | None = None
    host_path: HostPathSource | None = None
    nfs: NFSSource | None = None


class Dataset(ApiModel):
    name: DatasetName
    volume: VolumeSource | None = None
    path: Annotated[str, StringConstraints(max_length=1024, pattern=ABSOLUTE_PATH)] = "/data"


class CPUMemory(ApiModel):
    cpu: Quantity | None = None
    memory: Quantity | None = None


class Resources(ApiModel):
    requests: CPUMemory | None = None
    limits: CPUMemory | None = None


class Trainer(ApiModel):
    image: Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=r"^[^\s]+$")]
    full_training_epochs: int = Field(200, ge=1, le=10000)
    supernet_epochs: int = Field(50, ge=1, le=10000)
    gpus_per_trial: int = Field(1, ge=1, le=64)
    resources: Resources | None = None
    checkpoint_volume: VolumeSource
    checkpoint_interval_seconds: int = Field(900, ge=60, le=86400)
    termination_grace_period_seconds: int = Field(120, ge=10, le=3600)


class Toleration(ApiModel):
    key: Annotated[str, StringConstraints(max_length=316)] | None = None
    operator: TolerationOperator = TolerationOperator.EQUAL
    value: Annotated[str, StringConstraints(max_length=63)] | None = None
    effect: TaintEffect | None = None
    toleration_seconds: int | None = Field(None, ge=0, le=31536000)


class GPUs(ApiModel):
    max: int = Field(ge=1, le=1024)
    resource_name: Annotated[str, StringConstraints(max_length=253, pattern=EXTENDED_RESOURCE)] = (
        "nvidia.com/gpu"
    )
    power_watts: int = Field(400, ge=1, le=5000)
    node_selector: dict[str, Annotated[str, StringConstraints(max_length=63)]] | None = Field(
        None, max_length=32
    )
    tolerations: list[Toleration] | None = Field(None, max_length=16)


class Budget(ApiModel):
    carbon_grams: int | None = Field(None, ge=1, le=1_000_000_000_000)
    deadline: datetime | None = None
    max_full_trainings: int | None = Field(None, ge=1, le=100000)


class Carbon(ApiModel):
    location: Annotated[
        str,
        StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9]([A-Za-z0-9_-]*[A-Za-z0-9])?$"),
    ]
    policy: Policy = Policy.PPO
    mode: CarbonMode = CarbonMode.ACTIVE
    decision_interval_seconds: int = Field(3600, ge=60, le=86400)


class NASSearchSpec(ApiModel):
    search_space: SearchSpace
    objectives: list[Objective] = Field(default=DEFAULT_OBJECTIVES, min_length=2, max_length=2)
    dataset: Dataset
    trainer: Trainer
    gpus: GPUs
    budget: Budget
    carbon: Carbon
    suspend: bool = False


class GPUCounts(ApiModel):
    running: int = Field(0, ge=0)
    target: int = Field(0, ge=0)
    sampling: int = Field(0, ge=0)
    evaluation: int = Field(0, ge=0)


class TrialCounts(ApiModel):
    pending: int = Field(0, ge=0)
    running: int = Field(0, ge=0)
    suspended: int = Field(0, ge=0)
    succeeded: int = Field(0, ge=0)
    failed: int = Field(0, ge=0)


class CarbonLedger(ApiModel):
    emitted_grams: float = Field(0, ge=0)
    energy_joules: float = Field(0, ge=0)
    counterfactual_grams: float = Field(0, ge=0)
    # Negative when waiting for a cleaner hour turned out dirtier.
    avoided_grams: float = 0


class Decision(ApiModel):
    time: datetime | None = None
    policy: Policy | None = None
    policy_version: Annotated[str, StringConstraints(max_length=128)] | None = None
    mode: CarbonMode | None = None
    action: DecisionAction | None = None
    target_gpus: int | None = Field(None, ge=0, alias="targetGPUs")
    sampling_gpus: int | None = Field(None, ge=0, alias="samplingGPUs")
    evaluation_gpus: int | None = Field(None, ge=0, alias="evaluationGPUs")
    intensity_grams_per_kilowatt_hour: float | None = Field(None, ge=0)
    forecast_generated_at: datetime | None = None
    reason: (
        Annotated[str, StringConstraints(max_length=128, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")]
        | None
    ) = None
    message: Annotated[str, StringConstraints(max_length=1024)] | None = None


class ArchitectureResult(ApiModel):
    """A fully trained architecture: the best one, or one on the Pareto front."""

    trial: Annotated[str, StringConstraints(max_length=253)]
    architecture: Annotated[str, StringConstraints(max_length=128)]
    accuracy_percent: float | None = Field(None, ge=0, le=100)
    params: int | None = Field(None, ge=0)
    flops: int | None = Field(None, ge=0)


class NASSearchStatus(ApiModel):
    observed_generation: int | None = Field(None, ge=0)
    start_time: datetime | None = None
    completion_time: datetime | None = None
    conditions: Conditions | None = None
    gpus: GPUCounts | None = None
    trials: TrialCounts | None = None
    carbon: CarbonLedger | None = None
    last_decision: Decision | None = None
    best: ArchitectureResult | None = None
    pareto_front: list[ArchitectureResult] | None = Field(None, max_length=32)
    hypervolume: float | None = Field(None, ge=0, le=1)


class NASSearch(ApiModel):
    api_version: Literal["cenas.dev/v1alpha1"] = API_VERSION
    kind: Literal["NASSearch"] = "NASSearch"
    metadata: dict[str, Any] = Field(default_factory=dict)
    spec: NASSearchSpec
    status: NASSearchStatus | None = None
