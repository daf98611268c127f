"""Bad identity config is reported by the loader and `Gateway.from_config` (what `federation check` runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from federation.config.loader import load_config
from federation.demo.run import demo_config_text
from federation.engine.gateway import Gateway
from federation.errors import ConfigError


def config_with(tmp_path: Path, identity: dict[str, Any], gateway: dict[str, Any] | None = None) -> Path:
    config = yaml.safe_load(demo_config_text())
    config["model"]["entities"]["Customer"]["identity"] = identity
    config["gateway"].update(gateway or {})
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
    return path


ENV = {"ONEPANE_CRM_URL": "http://127.0.0.1:1", "ONEPANE_CRM_API_KEY": "k"}


@pytest.mark.parametrize(("identity", "path", "says"), [
    ({"rules": {"r": {"blocking": [["email"]], "compare": {"nmae": {}}}}},
     "model.entities.Customer", "identity.rules.r.compare.nmae: no field or key 'nmae' (valid: addresses"),
    ({"rules": {"r": {"blocking": [["email"]], "compare": {"name": {}}, "link": 1.5}}},
     "model.entities.Customer.identity.rules.r.link", "less than or equal to 1"),
    ({"rules": {"r": {"blocking": [["email"]], "compare": {"name": {"method": "soundex"}}}}},
     "model.entities.Customer.identity.rules.r.compare.name.method",
     "'name', 'date', 'code', 'address', 'text' or 'exact'"),
    ({"rules": {"r": {"blocking": [["email"]], "compare": {"name": {}}, "autolink": True}}},
     "model.entities.Customer.identity.rules.r.autolink", "did you mean 'autoLink'"),
])
def test_rule_mistakes_name_their_path(tmp_path: Path, identity: dict[str, Any], path: str, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(config_with(tmp_path, identity), ENV)
    found = [p for p in info.value.problems if p.path == path]
    assert found and says in str(found[0]), info.value


def test_a_blocking_key_no_source_can_filter_on_fails_the_check(tmp_path: Path) -> None:
    identity = {"rules": {"person": {"blocking": [["email"], ["dateOfBirth"]], "compare": {"name": {}}}}}
    config = load_config(config_with(tmp_path, identity), ENV)
    with pytest.raises(ConfigError) as info:
        Gateway.from_config(config)
    (problem,) = info.value.problems
    assert problem.path == "model.entities.Customer.identity.rules.person.blocking[1]"
    assert problem.problem == "no source can filter Customer on dateOfBirth"
    assert "email" in problem.valid and "loyaltyNumber" in problem.valid


def test_the_override_store_url_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(config_with(tmp_path, {}, {"identity": {"overrides": {"url": "not a url"}}}), ENV)
    assert any(p.path == "gateway.identity.overrides.url" and "not a database URL" in p.problem
               for p in info.value.problems)
