"""The `files` connector: legacy exports (CSV, TSV, JSON Lines, Parquet, fixed-width) as a source."""

from connectors.files.config import FilesEntityMap, FilesOptions
from connectors.files.connector import FilesConnector

__all__ = ["FilesConnector", "FilesEntityMap", "FilesOptions"]
