"""Onepane: a GraphQL federation layer over legacy systems."""

from federation.config import load_config
from federation.engine.gateway import Gateway

__all__ = ["Gateway", "load_config"]
