"""Write a connector package: pyproject with the registry's entry point, config model, connector
class, a stand-in client serving rows from memory, and a test module that runs the kit.

Everything is checked before the first file is written, so a bad name or a directory that is
already there leaves nothing behind.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from string import Template

from federation import registry
from federation.scaffold.templates import TEMPLATES

__all__ = ["NewConnectorError", "check_name", "write_skeleton"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class NewConnectorError(ValueError):
    """What is wrong with the name or the place, as one sentence for the user."""


def check_name(name: str) -> str:
    """The connector type name when it can be one (a config's `type:`, a Python identifier)."""
    if not _NAME.match(name):
        raise NewConnectorError(
            f"connector name '{name}' is not valid: use lower-case letters, digits and '_', starting "
            "with a letter, at most 40 characters (e.g. 'zendesk' or 'pos_tills')")
    if keyword.iskeyword(name):
        raise NewConnectorError(f"connector name '{name}' is a Python keyword; choose another")
    taken = registry.available()
    if name in taken:
        raise NewConnectorError(
            f"connector name '{name}' is already a connector type ({taken[name]}); choose another name")
    return name


def write_skeleton(name: str, parent: Path) -> list[Path]:
    """Write `parent/onepane-<name>/`; the files written. Nothing is written on error."""
    check_name(name)
    if not parent.is_dir():
        raise NewConnectorError(f"directory {parent} does not exist; create it or give another --dir")
    root = parent / f"onepane-{name.replace('_', '-')}"
    if root.exists():
        raise NewConnectorError(f"{root} already exists; remove it or choose another name or --dir")
    words = {"name": name, "package": f"onepane_{name}", "dist": f"onepane-{name.replace('_', '-')}",
             "cls": "".join(part.capitalize() for part in name.split("_")) + "Connector"}
    files = {Path(Template(path).substitute(words)): Template(text).substitute(words)
             for path, text in TEMPLATES.items()}
    written = []
    try:
        for relative, text in files.items():
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            written.append(target)
    except OSError as exc:  # a full disk or a read-only folder halfway: take back what was written
        for path in reversed(written):
            path.unlink(missing_ok=True)
        for folder in sorted({p.parent for p in written}, key=lambda p: len(p.parts), reverse=True):
            if folder.is_relative_to(root) and not any(folder.iterdir()):
                folder.rmdir()
        if root.exists() and not any(root.iterdir()):
            root.rmdir()
        raise NewConnectorError(f"cannot write {root}: {exc.strerror or exc}") from None
    return written
