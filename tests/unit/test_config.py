from pathlib import Path
from typing import Any

import pytest
import yaml

from federation.config import load_config
from federation.errors import ConfigError

BASE_SOURCE = {"type": "sql", "url": "sqlite+aiosqlite:///x.db",
               "entities": {"Customer": {"table": "customers", "id": "id"}}}

# (config, expected text in the error) — each error names the path and what would be valid.
BAD_CONFIGS: list[tuple[dict[str, Any], list[str]]] = [
    ({"sources": {}}, ["sources: at least one source is required"]),
    ({"source": {"a": BASE_SOURCE}}, ["source: unknown section (valid: gateway, model, security, sources)"]),
    ({"sources": {"a": {"type": "sqll"}}}, ["sources.a.type: unknown connector type 'sqll'", "valid:", "rest", "sql"]),
    ({"sources": {"a": {**BASE_SOURCE, "url": "${NOPE_NOT_SET}"}}},
     ["sources.a.url: environment variable NOPE_NOT_SET is not set"]),
    ({"gateway": {"max_hopz": 2}, "sources": {"a": BASE_SOURCE}}, ["gateway.max_hopz: unknown option", "max_hops"]),
    ({"gateway": {"max_hops": 99}, "sources": {"a": BASE_SOURCE}}, ["gateway.max_hops"]),
    ({"model": {"entities": {"Warranty": {"fields": {"until": {"type": "Dat"}}}}}, "sources": {"a": BASE_SOURCE}},
     ["model.entities.Warranty.fields.until.type: unknown type 'Dat'", "DateTime"]),
    ({"model": {"entities": {"Customer": {"relations": {"w": {"entity": "Warranty", "many": True,
                                                                  "backref": "customer"}}}}},
      "sources": {"a": BASE_SOURCE}},
     ["model.entities.Customer.relations.w.entity: unknown entity 'Warranty'", "Purchase"]),
    ({"sources": {"a": {**BASE_SOURCE, "timeout": -1}}}, ["sources.a.timeout"]),
    ({"sources": {"a": {**BASE_SOURCE, "entities": {"Customer": {"tabel": "c", "id": "id"}}}}},
     ["sources.a.entities.Customer.tabel: unknown option (did you mean 'table'?)", "select, table"]),
    ({"sources": {"a": {"type": "rest", "base_url": "http://127.0.0.1:1", "entities": {"Customer": {
        "path": "/c", "id": {"path": "id"}, "pagination": {"type": "page", "sise": 5}}}}}},
     ["sources.a.entities.Customer.pagination.page.sise: unknown option (did you mean 'size'?)"]),
    ({"sources": {"a": {**BASE_SOURCE, "entities": {"Customer": {
        "table": "c", "id": "id", "keys": {"email": "mail"}, "lookup_columns": {"key:mail": "m"}}}}}},
     ["sources.a.entities.Customer: lookup_columns: 'key:mail' is not a lookup of this entity (valid: id, key:email)"]),
    ({"sources": {"a": {**BASE_SOURCE, "guard": {"retry_budget": {"ratio": 2, "windw_seconds": 5}}}}},
     ["sources.a.guard.retry_budget.ratio", "sources.a.guard.retry_budget.windw_seconds: unknown option "
      "(did you mean 'window_seconds'?)"]),
]


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "onepane.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(("config", "expected"), BAD_CONFIGS)
def test_bad_config_names_file_path_and_valid_choices(tmp_path: Path, config: dict[str, Any],
                                                      expected: list[str]) -> None:
    path = write(tmp_path, config)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    message = str(caught.value)
    assert str(path) in message
    for text in expected:
        assert text in message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, {"gateway": {"max_hopz": 1}, "sources": {"a": {"type": "nope"}, "b": {"type": "sqll"}}})
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert len(caught.value.problems) == 3


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("sources:\n  a: [unclosed\n")
    with pytest.raises(ConfigError, match="line"):
        load_config(path)


def test_env_interpolation_with_default_and_secret(tmp_path: Path) -> None:
    source = {**BASE_SOURCE, "url": "sqlite+aiosqlite:///${DB_NAME:-fallback}.db"}
    config = load_config(write(tmp_path, {"sources": {"a": source}}), env={})
    assert config.sources["a"].options["url"] == "sqlite+aiosqlite:///fallback.db"
    config = load_config(write(tmp_path, {"sources": {"a": source}}), env={"DB_NAME": "real"})
    assert config.sources["a"].options["url"] == "sqlite+aiosqlite:///real.db"
