"""A timeline entry's origin and its summary text: shared by the API, which builds entries, and
the role layer, which re-renders a summary with the values a role may read (docs/architecture.md)."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["TimelineOrigin", "render_summary"]


@dataclass(frozen=True, slots=True)
class TimelineOrigin:
    """The entity an entry was built from, which of its fields fed `at`, `channel`, `direction` and
    `waitSeconds`, and the summary's template with the text of each field it names."""

    entity: str
    fields: Mapping[str, str | None]
    template: str
    parts: Mapping[str, str]


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def render_summary(template: str, parts: Mapping[str, str]) -> str:
    """A timeline summary from its template; a value left out leaves no empty brackets or commas."""
    text = string.Formatter().vformat(template, (), _Blank(parts))
    text = " ".join(text.split())
    text = re.sub(r"\(\s*,\s*", "(", re.sub(r",\s*\)", ")", text)).replace("()", "")
    return " ".join(text.split()).strip(" :,")
