"""The `sql` connector: legacy tables over SQLAlchemy (SQLite, PostgreSQL, MariaDB/MySQL)."""

from connectors.sql.config import SqlEntityMap, SqlOptions
from connectors.sql.connector import SqlConnector

__all__ = ["SqlConnector", "SqlEntityMap", "SqlOptions"]
