"""What an error message may echo back: caller or source text cut short, no schema hints.

Messages quote what a caller sent (a variable, an operation name) or what a source held (a
field's raw value). Both are cut to 100 characters, so a 10,000-character argument is never
echoed whole, and graphql-core's "Did you mean …?" hints are removed where a role may not
learn the schema's names.
"""

from __future__ import annotations

import re

__all__ = ["cut", "without_suggestions"]

# The hint may end the message or sit inside it ("… unknown field 'x'. Did you mean 'y'? Found: …").
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")


def cut(text: str, limit: int = 100) -> str:
    """`text` itself, or its first `limit` characters and an ellipsis."""
    return text if len(text) <= limit else text[:limit] + "…"


def without_suggestions(message: str) -> str:
    """`message` without graphql-core's "Did you mean …?" hints."""
    return _SUGGESTION.sub("", message)
