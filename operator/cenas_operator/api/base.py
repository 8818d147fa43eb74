"""Names shared by the cenas.dev resources and the base of their Python types.

The CRDs in crds/ are the source of truth; these types mirror them for the operator's code and
api/drift.py fails the unit tests when the two disagree.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

GROUP = "cenas.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

# Labels the operator puts on every NASTrial (and its pod) so a search's trials can be listed with
# a selector; the API server cannot enforce labels, so builders set them and tests check them.
LABEL_SEARCH = f"{GROUP}/search"
LABEL_ROLE = f"{GROUP}/role"


class ApiModel(BaseModel):
    """Python names in snake_case, wire names in camelCase.

    Unknown fields are ignored rather than rejected: during an upgrade the new CRD can be served
    before the old operator stops, and reading an object must not fail because of that.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="ignore",
    )


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


ConditionType = Annotated[
    str,
    StringConstraints(
        max_length=316,
        pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
    ),
]
Reason = Annotated[
    str, StringConstraints(min_length=1, max_length=1024, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
]


class Condition(ApiModel):
    """metav1.Condition: one observation of an object's state, one per type in a list-map."""

    type: ConditionType
    status: ConditionStatus
    observed_generation: int | None = Field(None, ge=0)
    last_transition_time: datetime
    reason: Reason
    message: str = Field(max_length=32768)


Conditions = Annotated[list[Condition], Field(max_length=16)]
