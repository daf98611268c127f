"""Mapping checks that need the model: constants and code tables must fit the field's type.

A constant (`status: {value: DONE}`), a `{default: X}` and the targets of an `{enum: {...}}` code
table are written in the config, not read from a source, so a value outside the field's enum or
type is a config mistake: reported at start with its path and the valid choices, instead of
being served as `UNKNOWN` (or as a field error on every record) later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from connectors.sdk.transforms import Coded, apply_steps
from federation.messages import cut
from federation.model.declaration import ModelDecl

__all__ = ["constant_problems"]

# `coerce` (mapping.py) passed in, so this module does not import the mapper that calls it.
Coerce = Callable[[ModelDecl, str, bool, Any], Any]


def constant_problems(model: ModelDecl, type_name: str, is_list: bool, spec: Any, coerce: Coerce) -> Iterator[str]:
    """`<path>: what is wrong (valid: …)` for each written-in value of `spec` that its type refuses.

    Paths are relative to the field (`value`, `transform[1].default`, `transform[0].enum.D`).
    """
    members = model.enums.get(type_name)
    if not spec.origin:
        yield from _check(model, type_name, is_list, members, "value", spec.value, spec.transform, coerce)
    for index, step in enumerate(spec.transform):
        if not isinstance(step, Mapping):
            continue
        ((name, arg),) = step.items()
        rest = spec.transform[index + 1:]
        if name == "default":
            yield from _check(model, type_name, is_list, members, f"transform[{index}].default", arg, rest, coerce)
        elif name == "enum" and members is not None and isinstance(arg, Mapping):
            for code, target in arg.items():
                if str(target).strip().upper() not in members:
                    yield (f"transform[{index}].enum.{code}: '{cut(str(target))}' is not a value of {type_name} "
                           f"(valid: {', '.join(members)})")


def _check(model: ModelDecl, type_name: str, is_list: bool, members: tuple[str, ...] | None, path: str,
           value: Any, steps: tuple[Any, ...], coerce: Coerce) -> Iterator[str]:
    try:
        produced = apply_steps(value, steps)
    except (ValueError, TypeError, ArithmeticError) as exc:
        yield f"{path}: {exc}"
        return
    if members is not None:
        written = produced.value if isinstance(produced, Coded) else produced
        values = written if isinstance(written, list | tuple) else [written]
        for one in values:
            if one is not None and str(one).strip().upper() not in members:
                yield f"{path}: '{cut(str(one))}' is not a value of {type_name} (valid: {', '.join(members)})"
                return
        return
    try:
        coerce(model, type_name, is_list, produced)
    except (ValueError, TypeError, ArithmeticError) as exc:
        yield f"{path}: {exc}"
