"""The built-in `files` connector passes the conformance kit, one export file per entity."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.files import FilesConnector
from connectors.files.snapshot import Snapshot
from connectors.sdk.testing import TABLES, ConnectorConformance, Harness, SourceCalls, context, mapping, write_files


class TestFilesConnector(ConnectorConformance):
    @pytest.fixture(params=[(e, f) for e in TABLES for f in ("csv", "jsonl")], ids=lambda p: f"{p[0]}-{p[1]}")
    def conformance_harness(self, request: pytest.FixtureRequest, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> Harness:
        entity, fmt = request.param
        path = write_files(tmp_path / "exports", entity, fmt)
        calls = SourceCalls()
        # A lookup reads its rows from the snapshot in memory: one read of the rows per lookup.
        monkeypatch.setattr(Snapshot, "take", calls.wrap(Snapshot.take))
        options = {"path": "exports", "pattern": path.name, "format": fmt, "settle": 0,
                   "entities": {entity: mapping(entity)}}

        def make() -> FilesConnector:
            return FilesConnector("kit", FilesConnector.validate_options(options), context(tmp_path))

        return Harness(make=make, calls=calls, entities=(entity,))
