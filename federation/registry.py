"""Resolve a config `type` to a connector class: built-ins and third parties alike, by entry point.

Built-ins are declared under the `onepane.connectors` entry-point group in our own
pyproject.toml, exactly as a third-party package declares its own. Classes load lazily.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from federation.contract import Connector

__all__ = ["GROUP", "available", "load", "register"]

GROUP = "onepane.connectors"
_registered: dict[str, str] = {}


def register(name: str, target: str) -> None:
    """Register `module:Class` under `name` (tests and embedding applications)."""
    _registered[name] = target


def available() -> dict[str, str]:
    """Every known connector type and where it lives."""
    found = {ep.name: ep.value for ep in entry_points(group=GROUP)}
    return {**found, **_registered}


def load(name: str) -> type[Connector]:
    """The connector class for `name`; KeyError lists the valid names."""
    targets = available()
    if name not in targets:
        raise KeyError(f"unknown connector type '{name}'; valid: {', '.join(sorted(targets))}")
    module_name, _, attr = targets[name].partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise TypeError(f"connector type '{name}' ({targets[name]}) is not a Connector subclass")
    return cls
