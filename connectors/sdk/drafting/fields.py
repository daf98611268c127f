"""Which column holds which field, key and ref of one entity: by name and by sampled values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.sdk.drafting.guesses import EntityDraft, Guess, Sure
from connectors.sdk.drafting.profile import ColumnProfile, TableProfile, words
from connectors.sdk.drafting.temporal import time_guess
from connectors.sdk.drafting.typed import enum_guess, money_guess
from connectors.sdk.drafting.values import looks_country, looks_email, looks_phone, share
from federation.model.declaration import EntityDecl, ModelDecl
from federation.regions import region_code

__all__ = ["FIELD_WORDS", "FieldGuesser"]

# Column-name words for the built-in model's fields (a model's own fields match by their name).
FIELD_WORDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "emails": (("email",), ("mail",), ("e", "mail")),
    "phones": (("phone",), ("telephone",), ("tel",), ("mobile",), ("cell",), ("fax",)),
    "addresses": (("address",), ("street",), ("city",), ("town",), ("region",), ("state",), ("county",),
                  ("province",), ("postal",), ("postcode",), ("zip",), ("country",)),
    "loyaltyNumbers": (("loyalty",), ("membership",), ("member", "number")),
    "dateOfBirth": (("birth",), ("dob",), ("birthday",), ("born",)),
    "orderNumber": (("order", "number"), ("order", "no"), ("order", "ref"), ("order", "id"), ("reference",)),
    "channel": (("channel",), ("source",)),
    "status": (("status",), ("state",), ("stage",)),
    "placedAt": (("order", "date"), ("placed",), ("ordered",), ("created",), ("date",)),
    "total": (("total",), ("amount",), ("grand", "total")),
    "sku": (("sku",), ("product", "code"), ("item", "code"), ("product", "id"), ("article",)),
    "quantity": (("quantity",), ("qty",), ("unit",)),
    "unitPrice": (("unit", "price"), ("price",), ("unit", "cost")),
    "kind": (("kind",), ("type",)),
    "method": (("method",), ("payment", "method"), ("tender",)),
    "cardLast4": (("last4",), ("last", "four"), ("card", "last4")),
    "amount": (("amount",), ("total",), ("value",)),
    "at": (("paid",), ("created",), ("date",), ("timestamp",)),
    "direction": (("direction",), ("message", "type")),
    "occurredAt": (("occurred",), ("created",), ("timestamp",), ("date",), ("time",)),
    "summary": (("summary",), ("content",), ("body",), ("text",), ("subject",), ("note",)),
    "waitSeconds": (("wait",), ("waiting",), ("queue",)),
    "subject": (("subject",), ("title",), ("topic",), ("summary",)),
    "openedAt": (("opened",), ("created",), ("reported",), ("timestamp",), ("date",)),
}
_NAME_ORDER = (("name",), ("full", "name"), ("display", "name"), ("company", "name"), ("contact", "name"))


def name_score(column: str, field: str) -> float:
    """1.0 when the column's words are one of the field's phrases, 0.7 when they contain one."""
    have = words(column)
    phrases = (*FIELD_WORDS.get(field, ()), words(field))
    if have in phrases:
        return 1.0
    for phrase in phrases:
        n = len(phrase)
        if any(have[i:i + n] == phrase for i in range(len(have) - n + 1)):
            return 0.7
    return 0.0


def _seen(values: list[Any], table: TableProfile) -> str:
    return f"of {len(values)} sampled values" if table.sampled else "(schema only, no rows read)"


class FieldGuesser:
    """Drafts entities against one model, knowing which table each other entity was drafted from."""

    def __init__(self, model: ModelDecl, tables_of: Mapping[str, TableProfile], region: str | None,
                 currency: str | None, every: Mapping[str, TableProfile] | None = None) -> None:
        self.model, self.tables_of, self.region, self.currency = model, tables_of, region, currency
        self.every = every or {}  # every table by name: a missing field may sit behind a foreign key

    def draft(self, entity: str, table: TableProfile, why: str, sure: Sure) -> EntityDraft:
        decl = self.model.entities[entity]
        draft = EntityDraft(entity, table, why, sure, self._id(table))
        country = self._country(table)
        used: set[str] = set(draft.id.origins())
        for name, field in decl.fields.items():
            if field.raw_of:
                continue
            # A code field (an order number, a SKU) may well be the id or a ref column itself.
            code = field.normalize == "code" or name in decl.keys
            taken = set() if code else used
            guess = self._field(entity, name, field.type_ref.name, field.type_ref.is_list, table, country, taken)
            if guess is None and name in decl.keys and decl.keys[name].links and len(table.primary_key) == 1:
                # A linking number (an order number) that no column is named for is most often the id.
                key = table.primary_key[0]
                guess = Guess(key, f"no column is named for {name}: the primary key", "low",
                              f"is {key} the {name} people quote (on receipts, on the phone)?")
            if guess is None:
                draft.missing.append(f"{name} ({field.type})")
                continue
            draft.fields[name] = guess
            if not code:
                used.update(guess.origins())
        phones = draft.fields.get("phones")
        if country and phones:
            draft.region = Guess({"column": country}, f"{country} holds country names or codes: phone numbers "
                                 "are read in each row's country", "high" if table.sampled else "medium")
        draft.refs = self._refs(entity, table)
        self._bought(decl, draft, table)
        draft.hints = self._hints(decl, draft, table)
        draft.keys = self._keys(decl, draft, table)
        return draft

    def _bought(self, decl: EntityDecl, draft: EntityDraft, table: TableProfile) -> None:
        """A line's `sku` no column is named for: its one other foreign key names what was bought."""
        if "sku" not in decl.fields or "sku" in draft.fields:
            return
        taken = {o for guess in draft.refs.values() for o in guess.origins()}
        others = [c for c in table.columns if c.refers_to and c.name not in taken]
        if len(others) != 1:
            return
        column = others[0]
        draft.fields["sku"] = Guess(column.name, f"its one other foreign key, to {column.refers_to[0]}: what the "  # type: ignore[index]
                                    "line is for", "medium", f"is {column.name} the code of what was bought?")
        draft.missing = [m for m in draft.missing if not m.startswith("sku ")]

    def _hints(self, decl: EntityDecl, draft: EntityDraft, table: TableProfile) -> list[str]:
        """A missing name that a foreign key's table holds: a line's `name` in products through product_id.

        Only the name: the referenced record names what this one is about (the product bought),
        while its other fields are its own (a support rep's birth date is not the customer's).
        """
        hints = []
        for name in [m.split(" ")[0] for m in draft.missing if m.split(" ")[0] == "name"]:
            field = decl.fields[name]
            for column in (c for c in table.columns if c.refers_to and c.refers_to[0] in self.every):
                other = self.every[column.refers_to[0]]  # type: ignore[index]
                found = self._field(draft.entity, name, field.type_ref.name, field.type_ref.is_list, other, None,
                                    set(other.primary_key))
                if found is not None and found.origins():
                    hints.append(f"{name} is in {other.name}.{found.origins()[0]} (through the foreign key "
                                 f"{column.name}): a `select:` joining {other.name} maps it (docs/connectors/sql.md)")
                    break
        return hints

    def _id(self, table: TableProfile) -> Guess:
        key = table.primary_key
        if len(key) == 1:
            return Guess(key[0], "the primary key", "high")
        if key:
            return Guess({"columns": list(key), "transform": [{"join": ":"}]},
                         "the primary key has several columns: joined with ':'", "high")
        unique = [c.name for c in table.columns if (v := table.values(c.name)) and len(set(map(str, v))) == len(
            table.rows) and words(c.name)[-1:] == ("id",)]
        if unique:
            return Guess(unique[0], "named like an id; its sampled values are unique", "medium",
                         "is this column unique for every record?")
        first = table.columns[0].name if table.columns else "id"
        return Guess(first, "no primary key declared", "low", f"which column identifies a record? ({first} is a guess)")

    def _country(self, table: TableProfile) -> str | None:
        for column in table.columns:
            values = table.values(column.name)
            named = words(column.name)[-1:] == ("country",)
            if (named and not values) or (values and share(values, looks_country) >= 0.8 and (
                    named or column.kind == "text")):
                return column.name
        return None

    def _field(self, entity: str, name: str, type_name: str, is_list: bool, table: TableProfile,
               country: str | None, used: set[str]) -> Guess | None:
        columns = [c for c in table.columns if c.name not in used and c.kind != "json"]
        if name == "emails" or (type_name == "String" and name.lower().endswith("email")):
            return self._emails(columns, table)
        if name == "phones":
            return self._phones(columns, table, country)
        if name == "addresses":
            return self._addresses(columns)
        if name == "name":
            return self._name(columns, table)
        ranked = sorted(((name_score(c.name, name), c) for c in columns), key=lambda s: -s[0])
        ranked = [(s, c) for s, c in ranked if s > 0]
        for score, column in ranked:
            guess = self._typed(name, type_name, column, table, score)
            if guess is not None:
                return guess
        if type_name in self.model.enums:  # a declared enum whose values name the field's values
            for column in columns:
                if column.enum and enum_guess(self.model.enums[type_name], column, table, 0.3) is not None:
                    return enum_guess(self.model.enums[type_name], column, table, 0.3)
        return None

    def _typed(self, name: str, type_name: str, column: ColumnProfile, table: TableProfile,
               score: float) -> Guess | None:
        sure: Sure = "high" if score >= 1.0 else "medium"
        said = f"named '{column.name}'"
        if type_name in self.model.enums:
            return enum_guess(self.model.enums[type_name], column, table, score)
        if type_name in ("DateTime", "Date"):
            return time_guess(type_name, column, table, said, sure)
        if type_name == "Money":
            return money_guess(column, table, said, self.currency)
        if type_name == "Int":
            if column.kind == "int" or (column.kind in ("decimal", "other") and all(
                    isinstance(v, int) for v in table.values(column.name))):
                return Guess(column.name, f"{said}, whole numbers", sure)
            if column.kind == "text":
                return Guess({"column": column.name, "transform": ["int"]}, f"{said}, numbers held as text", "low")
            return None
        if type_name in ("String", "ID") and column.kind in ("text", "int", "decimal", "other"):
            return Guess(column.name, said, sure)
        return None

    def _emails(self, columns: list[ColumnProfile], table: TableProfile) -> Guess | None:
        found: list[tuple[str, str, Sure]] = []
        for column in columns:
            values = table.values(column.name)
            rate = share(values, looks_email)
            if rate >= 0.6 or (not values and (name_score(column.name, "emails") > 0 or column.format == "email")):
                why = f"{rate:.0%} {_seen(values, table)} are emails" if values else (
                    f"named '{column.name}'" + (", format email" if column.format == "email" else ""))
                found.append((column.name, why, "high" if rate >= 0.9 else "medium"))
        return _gathered(found)

    def _phones(self, columns: list[ColumnProfile], table: TableProfile, country: str | None) -> Guess | None:
        found: list[tuple[str, str, Sure]] = []
        for column in columns:
            named = name_score(column.name, "phones") > 0
            if column.kind not in ("text", "other"):
                continue
            rows = [r for r in table.rows if r.get(column.name) not in (None, "")]
            if not rows:
                if named:
                    found.append((column.name, f"named '{column.name}' {_seen([], table)}", "medium"))
                continue
            # Unnamed, only values written as numbers are (a separator or a +): a bare 7-digit code is not.
            if not named and not all(_written_as_phone(r[column.name]) for r in rows):
                continue
            rate = sum(1 for r in rows if looks_phone(r[column.name], self._region(r, country))) / len(rows)
            if rate >= (0.5 if named else 0.9):
                where = f" in each row's {country}" if country else ""
                found.append((column.name, f"{rate:.0%} of {len(rows)} sampled values are phone numbers{where}",
                              "high" if rate >= 0.9 and named else "medium"))
        return _gathered(found)

    def _region(self, row: Mapping[str, Any], country: str | None) -> str | None:
        value = row.get(country) if country else None
        return (region_code(value) if isinstance(value, str) else None) or self.region

    def _addresses(self, columns: list[ColumnProfile]) -> Guess | None:
        parts = [c.name for c in columns if c.kind in ("text", "other") and name_score(c.name, "addresses") > 0]
        parts.sort(key=_address_rank)  # as an address is written: street, city, state, postcode, country
        if not parts:
            return None
        if len(parts) == 1:
            return Guess(parts[0], f"named '{parts[0]}'", "medium")
        return Guess({"columns": parts, "transform": [{"join": ", "}]},
                     "address parts by name, joined into one line", "medium")

    def _name(self, columns: list[ColumnProfile], table: TableProfile) -> Guess | None:
        names = {words(c.name): c.name for c in columns if c.kind in ("text", "other")}
        own = words(str(table.origin.get("table", table.name)).split(".")[-1])[-1:]  # products → product_name
        order = (*_NAME_ORDER[:3], (*own, "name"), *_NAME_ORDER[3:]) if own else _NAME_ORDER
        for phrase in order:
            if phrase in names:
                rest = [n for w, n in names.items() if "name" in w and w != phrase]
                also = f"; also {', '.join(rest)}" if rest else ""
                return Guess(names[phrase], f"named '{names[phrase]}'{also}", "high" if not rest else "medium")
        first = next((n for w, n in names.items() if w[-1:] == ("first",) or w == ("first", "name")), None)
        last = next((n for w, n in names.items() if w[-1:] == ("last",) or w == ("last", "name")), None)
        if first and last:
            return Guess({"columns": [first, last], "transform": [{"join": " "}]}, "first and last names joined",
                         "high")
        return None

    def _keys(self, decl: EntityDecl, draft: EntityDraft, table: TableProfile) -> dict[str, Guess]:
        keys: dict[str, Guess] = {}
        for key in decl.keys:
            field = next((f for f in (key, key + "s") if f in draft.fields), None)
            if field in ("emails", "phones") or (field and decl.keys[key].normalize in ("email", "phone")):
                spec = draft.fields[field].spec
                origins = draft.fields[field].origins()
                keys[key] = Guess(origins[0] if len(origins) == 1 else {"columns": list(origins)},
                                  f"the {field} columns", draft.fields[field].sure)
            elif field:
                spec = draft.fields[field].spec
                keys[key] = _unique(Guess(spec, f"the {field} field's column", draft.fields[field].sure),
                                    table, decl.keys[key].links)
            elif decl.keys[key].normalize in ("email", "phone"):
                kind = decl.keys[key].normalize
                guess = (self._emails if kind == "email" else lambda c, t: self._phones(c, t, None))(
                    list(table.columns), table)
                if guess is not None and any(name_score(o, key) > 0 or kind in words(o) for o in guess.origins()):
                    keys[key] = guess
        return keys

    def _refs(self, entity: str, table: TableProfile) -> dict[str, Guess]:
        refs: dict[str, Guess] = {}
        for ref, target in self._ref_targets(entity).items():
            other = self.tables_of.get(target)
            if other is None:
                continue
            guess = _ref_guess(ref, table, other)
            if guess is not None:
                refs[ref] = guess
        return refs

    def _ref_targets(self, entity: str) -> dict[str, str]:
        decl = self.model.entities[entity]
        out = {r.ref: r.entity for r in decl.relations.values() if r.ref}
        for name, other in self.model.entities.items():
            out.update({r.backref: name for r in other.relations.values() if r.entity == entity and r.backref})
        return out


_ADDRESS_ORDER = (("address",), ("street",), ("city",), ("town",), ("county",), ("region",), ("state",),
                  ("province",), ("postal",), ("postcode",), ("zip",), ("country",))


def _address_rank(column: str) -> int:
    have = set(words(column))
    return next((i for i, (word,) in enumerate(_ADDRESS_ORDER) if word in have), len(_ADDRESS_ORDER))


def _written_as_phone(value: Any) -> bool:
    text = str(value).strip()
    return text.startswith("+") or (any(c in text for c in " -().") and sum(c.isdigit() for c in text) >= 7)


def _gathered(found: list[tuple[str, str, Sure]]) -> Guess | None:
    if not found:
        return None
    if len(found) == 1:
        return Guess(found[0][0], found[0][1], found[0][2])
    worst: Sure = "medium" if any(s != "high" for _, _, s in found) else "high"
    return Guess({"columns": [n for n, _, _ in found]}, "; ".join(f"{n}: {w}" for n, w, _ in found), worst)


def _ref_guess(ref: str, table: TableProfile, other: TableProfile) -> Guess | None:
    """A column holding the other table's id: by foreign key, else by name and overlapping values."""
    other_name = str(other.origin.get("table", other.name)).split(".")[-1]
    for column in table.columns:
        if column.refers_to and column.refers_to[0].split(".")[-1] == other_name:
            return Guess(column.name, f"foreign key to {other_name}.{column.refers_to[1]}", "high")
    if len(other.primary_key) != 1:
        return None
    wanted = {*words(ref), *words(other_name)}
    ids = {str(v) for v in other.values(other.primary_key[0])}
    for column in table.columns:
        have = words(column.name)
        if not (set(have[:-1]) & wanted and have[-1:] in (("id",), ("number",), ("no",), ("code",))):
            continue
        values = {str(v) for v in table.values(column.name)}
        if values and ids:
            overlap = len(values & ids) / len(values)
            if overlap >= 0.8:
                return Guess(column.name, f"named '{column.name}'; {overlap:.0%} of its sampled values are "
                                          f"{other_name} ids", "high" if overlap >= 0.95 else "medium")
        elif not table.sampled or not other.sampled:
            if have[:-1] == words(other_name):  # conversation_id beside a conversations endpoint
                return Guess(column.name, f"named '{column.name}' after {other_name} (no rows to compare ids)",
                             "medium")
            return Guess(column.name, f"named '{column.name}' (no rows to compare with {other_name} ids)", "low",
                         f"does {column.name} hold the id of a {other_name} record?")
    return None


def _unique(guess: Guess, table: TableProfile, links: bool) -> Guess:
    """A linking key read as-is from one column a primary key or UNIQUE constraint covers: drafted
    `unique: true`, so identity never looks a record's own value up again in its source."""
    origins = guess.origins()
    if not links or len(origins) != 1 or origins[0] not in table.unique:
        return guess
    spec = dict(guess.spec) if isinstance(guess.spec, dict) else {"column": guess.spec}
    if set(spec) - {"column", "path"}:
        return guess  # a transform may map two stored values to one key: not unique after all
    return Guess({**spec, "unique": True}, f"{guess.why}; a UNIQUE constraint covers it", guess.sure,
                 guess.todo, guess.commented)
