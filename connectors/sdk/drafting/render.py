"""Write drafted entities as one YAML source block, a comment on every guess."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import yaml

from connectors.sdk.drafting.guesses import EntityDraft, Guess

__all__ = ["flow", "render_source", "source_name", "url_variable"]

Option = tuple[str, Any, str]  # key, value, comment


def flow(value: Any) -> str:
    """One value in YAML flow style on one line (`{column: a, transform: [strip]}`)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=1_000_000, sort_keys=False, allow_unicode=True)
    return text.strip().removesuffix("...").strip()


def source_name(text: str) -> str:
    """A config-friendly source name from a database or document name (`Northwind DB` → northwind_db)."""
    name = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return name if name and not name[0].isdigit() else f"source_{name}".rstrip("_")


def url_variable(name: str) -> str:
    """The environment variable the draft reads the source's address from (`${NORTHWIND_URL}`)."""
    return "${" + name.upper() + "_URL}"


def render_source(name: str, kind: str, header: Sequence[str], options: Sequence[Option],
                  drafts: Sequence[EntityDraft], skipped: Sequence[str]) -> str:
    """The `sources:` block: header comments, the source's options, then each entity."""
    lines = [f"# {h}" for h in header]
    lines += ["sources:", f"  {name}:", f"    type: {kind}"]
    lines += [_line(6 - 2, key, value, comment) for key, value, comment in options]
    if not drafts:
        lines += ["    # TODO: nothing here looked like a customer, purchase, line item, payment, interaction "
                  "or case: which table or endpoint holds them?", "    entities: {}"]
    else:
        lines.append("    entities:")
    for draft in drafts:
        lines += _entity(draft)
    if skipped:
        lines.append("# Not drafted:")
        lines += [f"#   {s}" for s in skipped]
    return "\n".join(lines) + "\n"


def _line(indent: int, key: str, value: Any, comment: str) -> str:
    text = f"{' ' * indent}{key}: {flow(value)}"
    return f"{text}  # {comment}" if comment else text


def _guess(indent: int, key: str, guess: Guess, paths: bool) -> list[str]:
    todo = [f"{' ' * indent}# TODO: {guess.todo}"] if guess.todo else []
    line = _line(indent, key, _as_paths(guess.spec) if paths else guess.spec, f"{guess.why} (sure: {guess.sure})")
    return [*todo, f"{' ' * indent}# {line.lstrip()}" if guess.commented else line]


def _as_paths(spec: Any) -> Any:
    """JSON sources say `path`/`paths` where SQL says `column`/`columns` (the mapping takes either)."""
    if isinstance(spec, dict):
        renamed = {"column": "path", "columns": "paths"}
        return {renamed.get(k, k): v for k, v in spec.items()}
    return spec


def _entity(draft: EntityDraft) -> list[str]:
    table = draft.table
    rows = (f"{len(table.rows)} rows sampled" if table.rows else
            "no rows: drafted from its schema alone" if table.sampled else "drafted from its schema alone")
    lines = [f"      {draft.entity}:  # {table.name}: {draft.why} (sure: {draft.sure}); {rows}"]
    lines += [f"        # {note}" for note in table.notes]
    lines += [_line(8, key, value, "") for key, value in table.origin.items()]
    paths = "path" in table.origin
    lines += _guess(8, "id", draft.id, paths)
    if draft.region is not None:
        lines += _guess(8, "region", draft.region, paths)
    for section in ("fields", "keys", "refs"):
        guesses: dict[str, Guess] = getattr(draft, section)
        if guesses:
            lines.append(f"        {section}:")
            for key, guess in guesses.items():
                lines += _guess(10, key, guess, paths)
    if draft.missing:
        lines.append(f"        # not found in {table.name}: {', '.join(draft.missing)}")
    lines += [f"        # TODO: {hint}" for hint in draft.hints]
    if draft.others:
        lines.append(f"        # also named like a {draft.entity}: {', '.join(draft.others)}")
    return lines
