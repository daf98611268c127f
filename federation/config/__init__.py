"""Typed configuration: YAML with `${ENV}` secrets, validated on load."""

from federation.config.loader import load_config, load_model, parse_config
from federation.config.models import Config, GatewaySettings, SourceSettings

__all__ = ["Config", "GatewaySettings", "SourceSettings", "load_config", "load_model", "parse_config"]
