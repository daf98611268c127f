"""The connector conformance kit: a canonical dataset, its loaders, and a suite every connector runs.

    from connectors.sdk.testing import ConnectorConformance, Harness, SourceCalls, context, mapping

    class TestMyConnector(ConnectorConformance):
        @pytest.fixture
        def conformance_harness(self, tmp_path) -> Harness:
            ...  # load the dataset into a test source, return how to build a connector over it

See docs/connectors/writing.md.
"""

from connectors.sdk.testing.calls import SourceCalls
from connectors.sdk.testing.dataset import COLUMNS, ENTITIES, EXPECTED, MISSING, ROWS, TABLES, Expected, mapping, rows
from connectors.sdk.testing.loaders import json_body, load_sql, sql_tables, write_files
from connectors.sdk.testing.suite import ConnectorConformance, Harness, context

__all__ = [
    "COLUMNS",
    "ENTITIES",
    "EXPECTED",
    "MISSING",
    "ROWS",
    "TABLES",
    "ConnectorConformance",
    "Expected",
    "Harness",
    "SourceCalls",
    "context",
    "json_body",
    "load_sql",
    "mapping",
    "rows",
    "sql_tables",
    "write_files",
]
