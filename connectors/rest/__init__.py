"""The `rest` connector: JSON HTTP APIs as Onepane sources."""

from connectors.rest.config import RestEntityMap, RestOptions
from connectors.rest.connector import RestConnector
from connectors.rest.errors import RetryLater

__all__ = ["RestConnector", "RestEntityMap", "RestOptions", "RetryLater"]
