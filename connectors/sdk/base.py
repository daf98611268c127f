"""BaseConnector: validated options, one RecordMapper per mapped entity, derived capabilities."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel

from connectors.sdk.mapping import EntityMapBase, RecordMapper
from federation.contract import Capabilities, Connector, ConnectorContext, EntityCapabilities

__all__ = ["BaseConnector", "lookup_names"]


def lookup_names(mapping: EntityMapBase) -> frozenset[str]:
    """The lookups a mapping can answer: its id, every mapped key and every mapped ref."""
    return frozenset({"id", *(f"key:{k}" for k in mapping.keys), *(f"ref:{r}" for r in mapping.refs)})


class BaseConnector(Connector):
    """Defaults for connectors whose options carry `entities: {Entity: <EntityMapBase subclass>}`."""

    options_model: ClassVar[type[BaseModel]]

    def __init__(self, name: str, options: Any, context: ConnectorContext) -> None:
        super().__init__(name, options, context)
        self.options = options
        entities: Mapping[str, EntityMapBase] = options.entities
        self.mappers: dict[str, RecordMapper] = {
            entity: RecordMapper(name, entity, mapping, context.model, context.region,
                                 getattr(options, "region", None))
            for entity, mapping in entities.items()
            if entity in context.model.entities
        }
        self._unknown = [e for e in entities if e not in context.model.entities]

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> Any:
        return cls.options_model.model_validate(dict(options))

    def problems(self) -> list[str]:
        valid = ", ".join(sorted(self.context.model.entities))
        out = [f"entities.{e}: unknown entity (valid: {valid})" for e in self._unknown]
        for entity, mapper in self.mappers.items():
            out += [f"entities.{entity}.{p}" for p in mapper.problems]
        return out

    def capabilities(self) -> Capabilities:
        return Capabilities(
            entities={
                entity: EntityCapabilities(lookups=lookup_names(mapper.mapping),
                                           unique_keys=mapper.mapping.unique_keys)
                for entity, mapper in self.mappers.items()
            }
        )
