"""Error codes for the errors graphql-core raises itself (parse and validation), added at the
HTTP boundary: strawberry raises parse errors through the extensions, so no extension can."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from federation.errors import GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED

__all__ = ["with_codes"]


def with_codes(errors: Sequence[Any] | None) -> None:
    """Give each error without `extensions.code` the code clients branch on, in place."""
    for error in errors or ():
        extensions = error.get("extensions") or {}
        if "code" in extensions or error.get("path"):
            continue
        message = str(error.get("message", ""))
        code = GRAPHQL_PARSE_FAILED if message.startswith("Syntax Error") else GRAPHQL_VALIDATION_FAILED
        error["extensions"] = {**extensions, "code": code}
