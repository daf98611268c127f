"""Declarative mapping from a source row (SQL columns or JSON paths) to a unified Record.

Every connector shares this: `fields`, `keys`, `refs`, `id` and `updated_at` each name where
the value comes from (`column`/`columns` for SQL, `path`/`paths` for JSON) and the transform
steps it goes through. Values then get the model's type (a field error when they don't fit)
and keys the model's normalizer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC as _UTC
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.sdk.arguments import check_step
from connectors.sdk.checks import constant_problems
from connectors.sdk.regions import Region, RegionRule, RowRegion, region_rule
from connectors.sdk.transforms import Coded, apply_steps, as_text, compile_steps, run_steps, shown
from federation.keys import NORMALIZERS, normalize, normalize_code, normalize_email, read_phone
from federation.messages import cut
from federation.model.declaration import EntityDecl, ModelDecl
from federation.records import EMPTY, Money, Record

__all__ = ["EntityMapBase", "FieldMap", "Getter", "KeyMap", "RecordMapper", "coerce"]

Getter = Callable[[str], Any]


class FieldMap(BaseModel):
    """Where one value comes from: one or more columns/paths, or a constant, then transforms."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    origin: tuple[str, ...] = Field(
        default=(), validation_alias=AliasChoices("column", "columns", "path", "paths")
    )
    value: Any = None
    transform: tuple[Any, ...] = ()
    region: Region | None = None  # phone numbers only: see connectors/sdk/regions.py

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"column": (data,)}
        if isinstance(data, dict):
            data = dict(data)
            for name in ("column", "path", "columns", "paths"):
                if isinstance(data.get(name), str):
                    data[name] = (data[name],)
        return data

    @model_validator(mode="after")
    def _has_origin(self) -> FieldMap:
        if not self.origin and self.value is None:
            raise ValueError("say where the value comes from: column/columns, path/paths or value")
        return self

    @model_validator(mode="after")
    def _money_has_currency(self) -> FieldMap:
        plain = [i for i, s in enumerate(self.transform) if s == "money" or s == {"money": None}]
        if plain and len(self.origin) == 1 and "split" not in map(_step_name, self.transform[:plain[0]]):
            raise ValueError("money without a currency reads [amount, currency] from two columns or paths; "
                             "for one, write {money: GBP}")
        return self

    @field_validator("transform", mode="before")
    @classmethod
    def _steps(cls, value: Any) -> Any:
        steps = value if isinstance(value, list | tuple) else [value]
        found = [f"step {i + 1}, {problem}" for i, step in enumerate(steps) if (problem := check_step(step))]
        if found:
            raise ValueError("; ".join(found))
        return tuple(steps)

    def read(self, get: Getter) -> Any:
        if not self.origin:
            return apply_steps(self.value, self.transform)
        raw = get(self.origin[0]) if len(self.origin) == 1 else [get(o) for o in self.origin]
        return apply_steps(raw, self.transform) if self.transform else raw


class KeyMap(FieldMap):
    """Where a match key's values come from, and whether a value names one record of the source.

    `unique: true` says no two records of this source share a value (an order number, a receipt
    number, a column with a UNIQUE constraint): identity then never looks a record's value up
    again in its own source, where it could only find that record (docs/identity.md, "Keys
    unique in their source"). Other sources the key's scope reaches are still asked.
    """

    unique: bool = False
    # `tidy: true`: apart from letter case and spaces at either end, every stored value is already
    # written as the key's normalizer writes it (an email with no space inside, printable ASCII;
    # a code of letters and digits only). A source may then compare the value the way its own
    # legacy index does (SQL: `lower(trim(email))`, or the bare column of a MariaDB `_ci`
    # column) instead of the normalizer's full expression; a row the declaration is false for
    # is not found by a lookup (`federation check` samples the column and says so).
    tidy: bool = False


_TIDY_NORMALIZERS = frozenset({"email", "code"})


def _step_name(step: Any) -> str:
    return step if isinstance(step, str) else str(next(iter(step)))


class EntityMapBase(BaseModel):
    """The connector-independent part of mapping one entity."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: FieldMap
    fields: dict[str, FieldMap] = Field(default_factory=dict)
    keys: dict[str, KeyMap] = Field(default_factory=dict)
    refs: dict[str, FieldMap] = Field(default_factory=dict)
    updated_at: FieldMap | None = None
    region: Region | None = None

    @property
    def unique_keys(self) -> frozenset[str]:
        """The keys declared `unique: true`: a value names at most one record of this source."""
        return frozenset(name for name, spec in self.keys.items() if spec.unique)

    def region_origins(self) -> list[str]:
        """The row columns/paths that hold a country for reading phone numbers."""
        regions = [self.region, *(s.region for s in (*self.fields.values(), *self.keys.values()))]
        return list(dict.fromkeys(r.origin for r in regions if isinstance(r, RowRegion)))


class RecordMapper:
    """Turns rows into Records for one (source, entity), checked against the model at start.

    Every row of every source goes through `to_record`, so what is fixed per mapping is worked
    out once here: each value's reader (its column, or its transform steps looked up), the type a
    value may already have to be its own coerced form, constants read and coerced once. A value
    that is not already in its final form goes the whole way (`_coerced`), which labels what it
    cannot read.
    """

    def __init__(self, source: str, entity: str, mapping: EntityMapBase, model: ModelDecl, region: str,
                 source_region: str | RowRegion | None = None) -> None:
        self.source, self.entity, self.mapping, self.region = source, entity, mapping, region
        self.decl = model.entities[entity]
        self.model = model
        self.problems = self._check(self.decl)
        self.region_origins = list(dict.fromkeys([*mapping.region_origins(), *(
            [source_region.origin] if isinstance(source_region, RowRegion) else [])]))
        # The region each phone field and key is read in: field > entity > source > gateway.
        rules = {n: region_rule((s.region, mapping.region, source_region), region)
                 for n, s in (*mapping.fields.items(), *mapping.keys.items())}
        # Per field, how it is read (`_field`); for fields the model declares (`_check` reports the others).
        fields = [self._field(name, spec, decl.type_ref.name, decl.type_ref.is_list, decl.normalize, rules[name])
                  for name, spec in mapping.fields.items() if (decl := self.decl.fields.get(name)) is not None]
        # Keys likewise: (name, the plain origin or None, its reader, the key's normalizer, whether
        # it is a phone's, its region rule, the column a field's check already normalizes the same
        # way, or None), for keys the model declares (`_check` reports the others). An email read
        # into a field and a key is normalized once.
        checked = {(f[1], f[6]) for f in fields if f[6] is not None}
        self._keys = [(name, plain, _reader(spec), normal, kind == "phone", rules[name],
                       plain if (plain, normal) in checked else None)
                      for name, spec in mapping.keys.items() if name in self.decl.keys
                      for kind in (self.decl.keys[name].normalize,)
                      for plain, normal in ((_plain(spec), _normalizer(kind)),)]
        shared = {k[6] for k in self._keys}
        self._fields = [(n, p, r, t, fit, li, c, p is not None and p in shared, sl)
                        for n, p, r, t, fit, li, c, _, sl in fields]
        self._id = (_plain(mapping.id), _reader(mapping.id), mapping.id)
        self._refs = [(name, (_plain(spec), _reader(spec), spec)) for name, spec in mapping.refs.items()]
        self._updated_at = None if mapping.updated_at is None else _reader(mapping.updated_at)

    def _field(self, name: str, spec: FieldMap, type_name: str, is_list: bool, normalizer: str | None,
               rule: RegionRule) -> _Field:
        """How one field is read: (name, the plain origin or None, its reader, the type a value
        already in its final form has or None, what else such a value must pass, whether it is
        one item of a list field, the normalizer that must read it (emails, codes), the rest)."""
        kind = normalizer if normalizer in _READ else None
        slow = _Slow(name, type_name, is_list, kind, rule,
                     f" (from {', '.join(spec.origin)})" if spec.origin else "")
        read = _reader(spec)
        members = self.model.enums.get(type_name)
        if members is not None:  # a member as the enum spells it (UNKNOWN keeps its raw text: the long way)
            as_is: tuple[type, Callable[[Any], bool] | None] | None = (
                str, frozenset(members).difference(("UNKNOWN",)).__contains__)
        else:
            as_is = _AS_IS.get(type_name)
        if as_is is None or kind == "phone":  # phones are rewritten (E.164): the long way
            return (name, _plain(spec), read, None, None, False, None, False, slow)
        # An email or code is read by its normalizer (`_readable`), which passes any other type.
        check = _NORMAL[kind] if kind is not None and as_is[0] is str else None
        if not spec.origin and kind is None:
            constant = self._constant(slow, read)
            if constant is not None:
                return (name, None, lambda _get: constant[0], type(constant[0]), None, False, None, False, slow)
        return (name, _plain(spec), read, as_is[0], as_is[1], is_list, check, False, slow)

    def _constant(self, slow: _Slow, read: Read) -> tuple[Any] | None:
        """A written-in value (`value: WEB`) read and coerced once, when that reads it cleanly
        (no field error, no raw text) into a value that cannot change; None otherwise."""
        raw: dict[str, str] = {}
        errors: dict[str, str] = {}
        try:
            value = self._coerced(slow, read(_no_row), _no_row, "", raw, errors)
        except (ValueError, TypeError, ArithmeticError, LookupError):
            return None
        if raw or errors or not isinstance(value, _IMMUTABLE):
            return None
        return (value,)

    def _check(self, decl: EntityDecl) -> list[str]:
        out = [f"fields.{f}: {self.entity} has no field '{f}' (valid: {', '.join(sorted(decl.fields))})"
               for f in self.mapping.fields if f not in decl.fields]
        out += [f"keys.{k}: {self.entity} has no key '{k}' (valid: {', '.join(sorted(decl.keys))})"
                for k in self.mapping.keys if k not in decl.keys]
        out += [f"keys.{k}.tidy: only an email or code key can be tidy (this key's normalizer is "
                f"{decl.keys[k].normalize})" for k, spec in self.mapping.keys.items()
                if spec.tidy and k in decl.keys and decl.keys[k].normalize not in _TIDY_NORMALIZERS]
        refs = {r.ref for r in decl.relations.values() if r.ref}
        refs |= {r.backref for other in self.model.entities.values()
                 for r in other.relations.values() if r.entity == self.entity and r.backref}
        out += [f"refs.{r}: no relation uses a ref '{r}' for {self.entity} (valid: {', '.join(sorted(refs))})"
                for r in self.mapping.refs if r not in refs]
        for name, spec in self.mapping.fields.items():
            if (field := decl.fields.get(name)) is not None:
                out += [f"fields.{name}.{p}" for p in constant_problems(
                    self.model, field.type_ref.name, field.type_ref.is_list, spec, coerce)]
        return out

    def to_record(self, get: Getter, as_of: datetime | None = None) -> Record:
        local_id = _id_of(self._id, get)
        fields: dict[str, Any] = {}
        raw: dict[str, str] = {}
        errors: dict[str, str] = {}
        normals: dict[str, str] = {}  # column → its value normalized by a field's check, for the keys
        for name, plain, read, as_is, fits, listed, check, share, slow in self._fields:
            try:
                value = get(plain) if plain is not None else read(get)
                # Already its own coerced form (a non-empty str for String, an aware datetime for
                # DateTime, an enum's member as spelled): as is, after the normalizer reads it.
                if type(value) is as_is and (fits is None or fits(value)):
                    if check is None:
                        fields[name] = [value] if listed else value
                        continue
                    normalized = check(value, "")
                    if normalized is not None:
                        fields[name] = [value] if listed else value
                        if share and plain is not None:
                            normals[plain] = normalized
                        continue
                fields[name] = self._coerced(slow, value, get, local_id, raw, errors)
            except (ValueError, TypeError, ArithmeticError) as exc:
                fields[name] = None
                errors[name] = f"{self.entity} {self.source}:{local_id} field {name}{slow.note}: {exc}"
        keys: dict[str, tuple[str, ...]] = {}
        for name, plain, read, normal, phone, rule, via in self._keys:
            if via is not None and (one := normals.get(via)):
                keys[name] = (one,)
                continue
            try:
                value = get(plain) if plain is not None else read(get)
            except (ValueError, TypeError):
                continue
            region = rule.of(get)[0] if phone else ""
            if not isinstance(value, list | tuple):  # the usual case: one value
                if value is not None and (one := normal(str(value), region)):
                    keys[name] = (one,)
                continue
            normal_values = [n for v in value if v is not None and (n := normal(str(v), region))]
            if normal_values:
                keys[name] = tuple(dict.fromkeys(normal_values))
        refs: dict[str, str] = {}
        for name, ref in self._refs:
            if found := _id_of(ref, get):
                refs[name] = found
        # entity, source, local_id, fields, keys, refs, updated_at, raw, errors, as_of (positional:
        # one call per row)
        return Record(self.entity, self.source, local_id or "", fields, keys, refs,
                      None if self._updated_at is None else _updated_at(self.model, self._updated_at, get),
                      raw or EMPTY, errors or EMPTY, as_of)

    def _coerced(self, slow: _Slow, value: Any, get: Getter, local_id: str | None, raw: dict[str, str],
                 errors: dict[str, str]) -> Any:
        """A field's value the whole way: decoded, coerced to the model's type, read by its
        normalizer; what cannot be read is labelled (a code outside the enum keeps its raw text)."""
        name = slow.name
        if isinstance(value, Coded):
            raw[name] = value.raw
            value = value.value
        out = coerce(self.model, slow.type_name, slow.is_list, value)
        if out == "UNKNOWN" and name not in raw and slow.type_name in self.model.enums:
            raw[name] = as_text(value)  # a code outside the enum: served as UNKNOWN, kept as read
        if slow.kind is not None and out:
            out, problem = _readable(slow.kind, out, slow.rule, get)
            if problem:
                errors[name] = f"{self.entity} {self.source}:{local_id} field {name}{slow.note}: {problem}"
        return out


Read = Callable[[Getter], Any]


@dataclass(frozen=True, slots=True)
class _Slow:
    """What a field's value needs when it is not already in its final form (`_coerced`)."""

    name: str
    type_name: str
    is_list: bool
    kind: str | None  # the normalizer that reads it: phone, email, code
    rule: RegionRule
    note: str  # " (from <columns>)", for its errors


# (name, plain origin, reader, final type, its test, list item, normalizer's check, whether a
# key takes the check's result, _Slow)
_Field = tuple[str, str | None, Read, type | None, Callable[[Any], bool] | None, bool,
               Callable[[Any, str], str | None] | None, bool, _Slow]
_Id = tuple[str | None, Read, FieldMap]


def _plain(spec: FieldMap) -> str | None:
    """The one column or path a value is read from as it is (no transform), else None."""
    return spec.origin[0] if len(spec.origin) == 1 and not spec.transform else None


def _reader(spec: FieldMap) -> Read:
    """`spec.read` with its transform steps looked up once and its number of origins known."""
    try:
        steps = compile_steps(spec.transform)
    except (KeyError, ValueError, TypeError, AttributeError):  # steps validation refuses: fail per row, as ever
        return spec.read
    if not spec.origin:
        constant = spec.value
        return lambda _get: run_steps(constant, steps)
    if len(spec.origin) > 1:
        origins = spec.origin
        return lambda get: run_steps([get(o) for o in origins], steps)
    origin = spec.origin[0]
    if len(steps) == 1:
        ((step, arg),) = steps
        return lambda get: step(get(origin), arg)
    return lambda get: run_steps(get(origin), steps)


def _no_row(origin: str) -> Any:
    raise LookupError(origin)  # a constant's reading never reads the row


def _normalizer(kind: str) -> Callable[[str, str], str | None]:
    found = NORMALIZERS.get(kind)
    if found is not None:
        return found
    return lambda text, region: normalize(kind, text, region)  # unknown: fails per row, as ever


def _id_of(plan: _Id, get: Getter) -> str | None:
    """An id or ref through its transforms; one they cannot read stays as the source wrote it, so
    the record is kept and still found by that id (an id has no field to carry an error)."""
    plain, read, spec = plan
    try:
        value = get(plain) if plain is not None else read(get)
        if value is None:
            return None
        return str(value).strip() or None
    except (ValueError, TypeError, ArithmeticError):
        return _text(" ".join(str(get(o)) for o in spec.origin if get(o) is not None))


def _updated_at(model: ModelDecl, read: Read, get: Getter) -> datetime | None:
    try:
        value = coerce(model, "DateTime", False, read(get))
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, datetime) else None


_READ = frozenset({"phone", "email", "code"})
# The normalizers that only read a value, never rewrite it (phones become E.164: `_readable`).
_NORMAL: Mapping[str, Callable[[str, str], str | None]] = {"email": normalize_email, "code": normalize_code}


def _readable(kind: str, value: Any, rule: RegionRule, get: Getter) -> tuple[Any, str | None]:
    """A normalized field's value with phones in E.164 where readable, and what could not be read.

    A value the normalizer cannot read stays as the source wrote it (never dropped, never
    coerced) and is named in the returned problem, which becomes the field's note.
    """
    region, problem = rule.of(get) if kind == "phone" else ("", None)
    items = value if isinstance(value, list) else [value]
    out: list[Any] = []
    unread: list[str] = []
    for item in items:
        if not isinstance(item, str):
            out.append(item)
            continue
        if kind == "phone":
            key, ok = read_phone(item, region)
            out.append(key if ok else item.strip())
        else:
            ok = (normalize_email if kind == "email" else normalize_code)(item, "") is not None
            out.append(item)
        if not ok:
            unread.append(item)
    if unread:
        what = {"phone": f"a phone number readable in region {region}", "email": "an email address",
                "code": "a code (no letters or digits)"}[kind]
        quoted = ", ".join(f"'{cut(u.strip())}'" for u in unread[:3])
        problem = "; ".join(p for p in (problem, f"{quoted} is not {what}; kept as written") if p)
    return (out if isinstance(value, list) else out[0]), problem


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def coerce(model: ModelDecl, type_name: str, is_list: bool, value: Any) -> Any:
    """Give `value` the model type; ValueError says what did not fit."""
    if value is None or value == "":
        return [] if is_list else None
    if is_list:
        values = value if isinstance(value, list | tuple) else [value]
        if any(isinstance(v, dict | list | tuple) for v in values):
            raise ValueError(f"got an array of JSON objects or arrays where [{type_name}] is expected: "
                             f"{_as_json(value)}")
        return [c for v in values if (c := coerce(model, type_name, False, v)) is not None]
    if isinstance(value, dict):  # JSON sources: a nested object where one value belongs
        raise ValueError(f"got a JSON object where {type_name} is expected: {_as_json(value)}")
    if isinstance(value, list | tuple):
        raise ValueError(f"got a JSON array where {type_name} is expected: {_as_json(value)}")
    if type_name in model.enums:
        text = as_text(value).strip().upper()
        if text in model.enums[type_name]:
            return text
        if "UNKNOWN" in model.enums[type_name]:
            return "UNKNOWN"
        raise ValueError(f"'{value}' is not one of {type_name}: {', '.join(model.enums[type_name])}")
    return _SCALAR[type_name](value)


def _as_json(value: Any) -> str:
    """A nested value as the JSON a source sent (or near it), cut to 100 characters."""
    try:
        return cut(orjson.dumps(value, default=repr, option=orjson.OPT_NON_STR_KEYS).decode())
    except (TypeError, orjson.JSONEncodeError):
        return cut(repr(value))


def _to_str(value: Any) -> str:
    """Text, or an exact value that reads the same as text (an INTEGER or NUMERIC column, a date).

    A boolean or a binary float is no text: `true` would read "True" and `1e308` "1E308", values
    the source never held as text, so they are the field's error instead (the raw value shown).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise ValueError(f"got the JSON boolean {str(value).lower()} where String is expected")
    if isinstance(value, float):
        raise ValueError(f"got the JSON number {cut(repr(value))} where String is expected")
    if isinstance(value, int | date | UUID) or (isinstance(value, Decimal) and value.is_finite()):
        return str(value).strip()
    raise ValueError(f"got {type(value).__name__} {cut(repr(value))} where String is expected")


_INT_RANGE = range(-(2**31), 2**31)  # GraphQL Int is a signed 32-bit integer


def _to_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise ValueError(f"got {shown(value)} where Int is expected")
    finite = value.is_finite() if isinstance(value, Decimal) else not isinstance(value, float) or math.isfinite(value)
    if not finite or (isinstance(value, float | Decimal) and value != int(value)):
        raise ValueError(f"'{cut(str(value))}' is not an integer")
    try:
        number = int(str(value).strip()) if isinstance(value, str) else int(value)
    except ValueError:
        raise ValueError(f"'{cut(str(value))}' is not an integer") from None
    if number not in _INT_RANGE:
        raise ValueError(f"'{cut(str(value))}' does not fit a 32-bit Int")
    return number


def _to_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise ValueError(f"got {shown(value)} where Float is expected")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        number = math.nan
    if not math.isfinite(number):  # GraphQL Float has no NaN or infinity
        raise ValueError(f"'{cut(str(value))}' is not a finite number")
    return number


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y", "t"):
        return True
    if text in ("0", "false", "no", "n", "f"):
        return False
    raise ValueError(f"'{cut(str(value))}' is not a boolean")


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=_UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"'{cut(value)}' is not an ISO date-time") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=_UTC)
    raise ValueError(f"got {shown(value)} where DateTime is expected")


def _to_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(as_text(value).strip())
    except ValueError:
        raise ValueError(f"'{cut(str(value))}' is not an ISO date") from None


def _to_money(value: Any) -> Money:
    if isinstance(value, Money):
        return value
    raise ValueError(f"'{cut(str(value))}' is not money; map it with a money or money_minor transform")


def _to_decimal(value: Any) -> Decimal:
    try:
        number = Decimal(as_text(value).strip() if not isinstance(value, float) else str(value))
    except ArithmeticError:
        number = None
    if number is None or not number.is_finite():
        raise ValueError(f"'{cut(str(value))}' is not a decimal number")
    return number



# Per type, the one Python type whose values (that pass the test) coerce to themselves, so a
# value already in that form skips `coerce` (each matches what its `_to_*` returns unchanged):
# a non-empty str, an int within Int's range, a finite float or Decimal, a date that is no
# datetime (type() is exact), an aware datetime, Money.
_AS_IS: Mapping[str, tuple[type, Callable[[Any], bool] | None]] = {
    "String": (str, "".__ne__), "ID": (str, "".__ne__), "Int": (int, _INT_RANGE.__contains__),
    "Boolean": (bool, None), "Float": (float, math.isfinite), "Decimal": (Decimal, Decimal.is_finite),
    "Date": (date, None), "DateTime": (datetime, lambda value: value.tzinfo is not None), "Money": (Money, None),
}
# Values a record may share with every other record of its mapping (a constant read once).
_IMMUTABLE = (str, int, float, Decimal, date, Money, type(None))

_SCALAR: Mapping[str, Callable[[Any], Any]] = {
    "String": _to_str,
    "ID": _to_str,
    "Int": _to_int,
    "Float": _to_float,
    "Boolean": _to_bool,
    "DateTime": _to_datetime,
    "Date": _to_date,
    "Money": _to_money,
    "Decimal": _to_decimal,
}
