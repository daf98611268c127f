"""The declared unified model and its loader."""

from federation.model.declaration import (
    EntityDecl,
    FieldDecl,
    KeyDecl,
    ModelDecl,
    RelationDecl,
    TimelineDecl,
    parse_type,
)
from federation.model.loader import builtin_model, check_model, merge_models

__all__ = [
    "EntityDecl",
    "FieldDecl",
    "KeyDecl",
    "ModelDecl",
    "RelationDecl",
    "TimelineDecl",
    "builtin_model",
    "check_model",
    "merge_models",
    "parse_type",
]
