"""What a connector author imports: the contract, records, errors, mapping and transforms."""

from connectors.sdk.base import BaseConnector, lookup_names
from connectors.sdk.mapping import EntityMapBase, FieldMap, RecordMapper, coerce
from connectors.sdk.transforms import TRANSFORMS, Coded, apply_steps
from federation.contract import (
    Capabilities,
    Condition,
    Connector,
    ConnectorContext,
    EntityCapabilities,
    Health,
    SearchRequest,
    SortKey,
)
from federation.engine.residual import matches, sort_records
from federation.errors import (
    SourceDataError,
    SourceError,
    SourceRejectedInput,
    SourceTimeout,
    SourceUnavailable,
)
from federation.records import Money, Record

__all__ = [
    "TRANSFORMS",
    "BaseConnector",
    "Capabilities",
    "Coded",
    "Condition",
    "Connector",
    "ConnectorContext",
    "EntityCapabilities",
    "EntityMapBase",
    "FieldMap",
    "Health",
    "Money",
    "Record",
    "RecordMapper",
    "SearchRequest",
    "SortKey",
    "SourceDataError",
    "SourceError",
    "SourceRejectedInput",
    "SourceTimeout",
    "SourceUnavailable",
    "apply_steps",
    "coerce",
    "lookup_names",
    "matches",
    "sort_records",
]
