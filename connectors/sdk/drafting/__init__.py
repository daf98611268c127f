"""Draft a mapping onto the unified model from a source's own description and sampled values.

Connectors describe what they found as `TableProfile`s (columns, keys, a bounded sample of rows);
`draft_entities` guesses which table holds which entity and which column holds which field, and
`render_source` writes the YAML source block with a comment on every guess.
"""

from connectors.sdk.drafting.entities import draft_entities
from connectors.sdk.drafting.profile import ColumnProfile, TableProfile
from connectors.sdk.drafting.render import render_source, url_variable

__all__ = ["ColumnProfile", "TableProfile", "draft_entities", "render_source", "url_variable"]
