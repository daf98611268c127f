"""A model file as the gateway loads it: Onepane's own JSON, or a Splink model read as it is.

Kept apart from `fellegi` (the model and its scoring) and `splink` (the mapping of Splink's
settings), which both need `fellegi`: this module is the one that knows both formats.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from federation.identity.fellegi import IdentityModel, ModelError
from federation.identity.splink import from_splink, is_splink
from federation.model.identity import IdentityDecl

__all__ = ["load_model"]


def load_model(path: Path, entity: str, identity: IdentityDecl, sources: Iterable[str]) -> IdentityModel:
    """The model at `path`, checked against the entity's rules and sources; ModelError says why not."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelError(f"no model file at {path}: train one with `federation identity train CONFIG`") from None
    except OSError as exc:
        raise ModelError(f"cannot read the model file {path} ({type(exc).__name__})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path} is not JSON (line {exc.lineno}: {exc.msg})") from None
    sources = list(sources)
    # A Splink model JSON is read as it is (federation/identity/splink.py), mapped onto the rules.
    if is_splink(data):
        try:
            model = from_splink(data, entity, identity, sources, path.name)
        except ModelError as exc:
            raise ModelError(f"{path}: {exc}") from None
    else:
        model = IdentityModel.from_json(data)
    problems = model.problems(entity, identity, sources)
    if problems:
        raise ModelError(f"{path}: " + "; ".join(problems))
    return model
