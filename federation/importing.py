"""`federation import KIND TARGET`: ask the connector that offers KIND for a draft source block.

The core knows no connector: it walks the registry (built-ins and third parties alike) for the
class whose `drafts` names the kind, and prints what its `draft` hook returns.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from federation import registry
from federation.contract import Connector
from federation.drafts import DraftError, DraftRequest
from federation.model import builtin_model
from federation.model.declaration import ModelDecl

__all__ = ["drafter", "main_import"]


def drafter(kind: str) -> type[Connector]:
    """The connector class offering `kind`; the type of the same name first (`sql` → sql)."""
    names = sorted(registry.available(), key=lambda n: n != kind)
    offered: list[str] = []
    for name in names:
        try:
            cls = registry.load(name)
        except (ImportError, KeyError, TypeError):
            continue  # a broken third-party package does not stop an import from a working one
        if kind in cls.drafts:
            return cls
        offered += sorted(cls.drafts)
    raise DraftError(f"no connector drafts '{kind}' imports (valid: {', '.join(sorted(set(offered))) or 'none'})")


def main_import(kind: str, target: str, model: ModelDecl | None = None, **options: object) -> int:
    """Print the draft on stdout; on failure one line on stderr and exit code 2, nothing printed."""
    try:
        request = DraftRequest(target=target, model=model or builtin_model(), base_dir=Path.cwd(),
                               **options)  # type: ignore[arg-type]
        text = asyncio.run(drafter(kind).draft(kind, request))
    except (DraftError, ValueError) as exc:  # ValueError: an option (--currency, --region) that means nothing
        sys.stderr.write(f"federation import {kind}: {exc}\n")
        return 2
    sys.stdout.write(text)
    return 0
