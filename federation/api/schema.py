"""Build the strawberry schema for a model and print its SDL."""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from federation.api.build import build_types
from federation.api.extensions import SourcesExtension
from federation.api.roots import build_query
from federation.errors import OnepaneError
from federation.model.declaration import ModelDecl

__all__ = ["OnepaneSchema", "build_schema", "print_sdl"]

log = logging.getLogger("federation.api")


class OnepaneSchema(strawberry.Schema):
    """Logs only unexpected errors: a bad argument or a failed source is not a stack trace."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        for error in errors:
            if error.original_error is not None and not isinstance(error.original_error, OnepaneError):
                log.debug("resolver error at %s", error.path)


def build_schema(model: ModelDecl, **kwargs: Any) -> OnepaneSchema:
    """Generate the GraphQL schema from the declared model."""
    types = build_types(model)
    query = build_query(types)
    return OnepaneSchema(query=query, config=StrawberryConfig(auto_camel_case=False),
                         extensions=[SourcesExtension], **kwargs)


def print_sdl(model: ModelDecl) -> str:
    return build_schema(model).as_str() + "\n"
