"""The unified model as data: entities, their fields, match keys, relations and merge rules.

The built-in customer model (`customer.yaml`) is one such declaration; a config's `model:`
section is merged on top of it. The GraphQL types are generated from this, never hand-written.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from federation.keys import NORMALIZERS
from federation.model.identity import IdentityDecl

__all__ = [
    "SCALARS",
    "DisplayDecl",
    "EntityDecl",
    "FieldDecl",
    "GroupScope",
    "KeyDecl",
    "KeyScope",
    "ModelDecl",
    "RelationDecl",
    "RootArgDecl",
    "RootDecl",
    "TimelineDecl",
    "TypeRef",
    "parse_type",
]

SCALARS = ("String", "Int", "Float", "Boolean", "ID", "DateTime", "Date", "Money", "Decimal")
_TYPE = re.compile(r"^\s*(\[)?\s*([A-Za-z_][A-Za-z0-9_]*)\s*(!)?\s*(\])?\s*$")
_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class TypeRef(BaseModel):
    """A parsed field type: `String`, `[String]`, `PurchaseStatus`."""

    model_config = ConfigDict(frozen=True)
    name: str
    is_list: bool = False


def _optional_type(value: str | None) -> str | None:
    """A `type:` that may be absent; when given, it must parse."""
    if value is not None:
        parse_type(value)
    return value


def parse_type(text: str) -> TypeRef:
    """Parse `T` or `[T]` (a trailing `!` is accepted and ignored: values may be missing)."""
    match = _TYPE.match(text)
    if not match or bool(match.group(1)) != bool(match.group(4)):
        raise ValueError(f"'{text}' is not a type; write a name such as String or a list [String]")
    return TypeRef(name=match.group(2), is_list=bool(match.group(1)))


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


MergeRule = Literal["priority", "latest", "union"]


class FieldDecl(_Closed):
    """One unified field: its type and how values from several records combine."""

    type: str
    description: str = ""
    merge: MergeRule | None = None
    prefer: tuple[str, ...] = ()
    raw_of: str | None = Field(default=None, alias="rawOf")
    normalize: str | None = None

    @field_validator("type")
    @classmethod
    def _check_type(cls, value: str) -> str:
        parse_type(value)
        return value

    @field_validator("normalize")
    @classmethod
    def _check_normalize(cls, value: str | None) -> str | None:
        if value is not None and value not in NORMALIZERS:
            raise ValueError(f"unknown normalizer '{value}'; valid: {', '.join(NORMALIZERS)}")
        return value

    @cached_property
    def type_ref(self) -> TypeRef:
        return parse_type(self.type)

    @cached_property
    def rule(self) -> MergeRule:
        if self.merge:
            return self.merge
        return "union" if self.type_ref.is_list else "priority"


class GroupScope(_Closed):
    """`scope: {group: web-orders}` (a group named in `gateway.key_groups`) or `{group: [shop, pos]}`."""

    group: str | tuple[str, ...]


KeyScope = Literal["global", "source"] | GroupScope
# Contact details mean one thing everywhere; any other linking value (an order, invoice, member
# or policy number) is issued by one system, so by default it links only inside that system.
# A key that does not link (a date of birth or postcode a fuzzy rule compares, a relation's
# foreign key) describes rather than identifies: it compares everywhere unless scoped.
_GLOBAL_NORMALIZERS = frozenset({"email", "phone"})


class KeyDecl(_Closed):
    """A match key: how its values are normalized, whether sharing one links records, and where.

    `scope` says which sources' values mean the same thing: `global` (every source), `source`
    (only records of the same source) or a group of sources. Unset: `source` for a linking key
    that is not an email or phone, `global` for every other key (docs/identity.md, "Key scope").
    """

    normalize: str = "exact"
    links: bool = False
    shared: bool = Field(default=False, description="households or businesses share it: links only when names agree")
    scope: KeyScope | None = Field(default=None, description="global, source or {group: name or [sources]}")
    description: str = ""

    @field_validator("scope", mode="before")
    @classmethod
    def _check_scope(cls, value: Any) -> Any:
        # One clear message instead of pydantic's per-branch errors of the union.
        if value is None or value in ("global", "source"):
            return value
        group = value.get("group") if isinstance(value, dict) and set(value) == {"group"} else None
        if isinstance(group, str) and group.strip():
            return value
        if isinstance(group, list | tuple) and group and all(isinstance(g, str) and g for g in group):
            return value
        raise ValueError(f"scope {value!r} is not one of: global, source, {{group: <name in gateway.key_groups>}}, "
                         "{group: [source, source, ...]}")

    @property
    def effective_scope(self) -> KeyScope:
        """The declared scope, else the normalizer's default."""
        if self.scope is not None:
            return self.scope
        return "source" if self.links and self.normalize not in _GLOBAL_NORMALIZERS else "global"

    @field_validator("normalize")
    @classmethod
    def _check_normalize(cls, value: str) -> str:
        if value not in NORMALIZERS:
            raise ValueError(f"unknown normalizer '{value}'; valid: {', '.join(NORMALIZERS)}")
        return value


class RelationDecl(_Closed):
    """A relation to another entity, found by same-source refs and/or shared keys.

    `ref`: this record's ref of that name holds the other record's local id (same source).
    `backref`: the other record's ref of that name holds this record's local id (same source).
    `keys`: {this entity's key: the other entity's key}; matched across every source.
    """

    entity: str
    many: bool = False
    ref: str | None = None
    backref: str | None = None
    keys: dict[str, str] = Field(default_factory=dict)
    description: str = ""


class TimelineDecl(_Closed):
    """How a record of this entity appears in a customer's timeline."""

    at: str
    kind: str
    channel: str | None = None
    summary: str = ""
    direction: str | None = None
    wait_seconds: str | None = Field(default=None, alias="waitSeconds")


class FlagDecl(_Closed):
    """A named warning raised when a relation holds at least `min` records matching `where`."""

    relation: str
    where: dict[str, str] = Field(default_factory=dict)
    min: int = 2
    message: str


DisplayFormat = Literal["text", "status", "datetime", "date", "money", "list", "yesno", "number"]


class DisplayDecl(_Closed):
    """How the agent console lays out one field or relation; every part is optional.

    `section`: "summary" puts it on the first screen (a relation of Customer as a short list under
    who the customer is), "details" one scroll away; by default a Customer field is in the header
    and everything else one scroll away. `hidden` leaves it out of the generated documents.
    """

    label: str | None = None
    section: Literal["summary", "details"] | None = None
    order: int | None = None
    format: DisplayFormat | None = None
    hidden: bool = False


class EntityDecl(_Closed):
    """One entity of the unified model."""

    description: str = ""
    fields: dict[str, FieldDecl] = Field(default_factory=dict)
    keys: dict[str, KeyDecl] = Field(default_factory=dict)
    relations: dict[str, RelationDecl] = Field(default_factory=dict)
    timeline: TimelineDecl | None = None
    timeline_from: tuple[str, ...] = Field(default=(), alias="timelineFrom")
    flags: dict[str, FlagDecl] = Field(default_factory=dict)
    name_field: str | None = Field(default=None, alias="nameField")
    identity: IdentityDecl | None = Field(default=None, description="fuzzy matching rules (docs/identity.md)")
    display: dict[str, DisplayDecl] = Field(default_factory=dict,
                                            description="console layout hints per field or relation name")

    @model_validator(mode="after")
    def _check_identity(self) -> EntityDecl:
        problems = self.identity.problems(set(self.fields), set(self.keys)) if self.identity else []
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @cached_property
    def linking_keys(self) -> tuple[str, ...]:
        return tuple(name for name, key in self.keys.items() if key.links)

    @cached_property
    def shared_keys(self) -> frozenset[str]:
        return frozenset(name for name, key in self.keys.items() if key.links and key.shared)


RootOp = Literal["eq", "in", "gt", "gte", "lt", "lte", "prefix", "contains"]


class RootArgDecl(_Closed):
    """One argument of a declared list root: `field op value`, pushed down to the sources."""

    field: str
    op: RootOp = "eq"
    type: str | None = Field(default=None, description="defaults to the field's type (a list for `in`)")
    description: str = ""

    @field_validator("type")
    @classmethod
    def _check_type(cls, value: str | None) -> str | None:
        return _optional_type(value)


class RootDecl(_Closed):
    """A root query field the config declares: a list, a lookup `by` id or key, or a constant.

    `posts: {entity: Post, list: true, args: {userId: {field: userId}}}` lists every Post the
    sources hold (filtered by the arguments given); `post: {entity: Post, by: id}` finds one by
    its id; `greet: {type: "String!", value: "Hello World!"}` always answers the value.
    """

    entity: str | None = None
    many: bool = Field(default=False, alias="list")
    by: str | None = None
    args: dict[str, RootArgDecl] = Field(default_factory=dict)
    order: tuple[str, ...] = Field(default=(), description="fields to sort by; '-field' sorts descending")
    type: str | None = None
    value: Any = None
    description: str = ""

    @field_validator("type")
    @classmethod
    def _check_type(cls, value: str | None) -> str | None:
        return _optional_type(value)


class ModelDecl(_Closed):
    """The whole unified model: enums, entities and the root fields a config declares."""

    enums: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    entities: dict[str, EntityDecl] = Field(default_factory=dict)
    roots: dict[str, RootDecl] = Field(default_factory=dict)

    def entity(self, name: str) -> EntityDecl:
        return self.entities[name]
