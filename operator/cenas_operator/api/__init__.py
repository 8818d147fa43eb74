"""The cenas.dev/v1alpha1 API: Python types mirroring crds/, and helpers to load and install them."""

from .base import API_VERSION, GROUP, LABEL_ROLE, LABEL_SEARCH, VERSION, Condition, ConditionStatus
from .nassearch import NASSearch, NASSearchSpec, NASSearchStatus, SearchConditionType
from .nastrial import (
    NB201_CELL_PATTERN,
    NASTrial,
    NASTrialSpec,
    NASTrialStatus,
    TrialConditionType,
    TrialRole,
)

__all__ = [
    "API_VERSION",
    "GROUP",
    "LABEL_ROLE",
    "LABEL_SEARCH",
    "NB201_CELL_PATTERN",
    "VERSION",
    "Condition",
    "ConditionStatus",
    "NASSearch",
    "NASSearchSpec",
    "NASSearchStatus",
    "NASTrial",
    "NASTrialSpec",
    "NASTrialStatus",
    "SearchConditionType",
    "TrialConditionType",
    "TrialRole",
]
