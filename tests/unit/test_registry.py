import pytest

from federation import registry
from federation.contract import Connector


def test_builtins_are_found_through_entry_points_like_third_parties() -> None:
    found = registry.available()
    assert found["sql"] == "connectors.sql:SqlConnector"
    assert found["rest"] == "connectors.rest:RestConnector"
    assert issubclass(registry.load("rest"), Connector)
    assert found["files"] == "connectors.files:FilesConnector"
    assert issubclass(registry.load("files"), Connector)


def test_unknown_type_lists_the_valid_ones() -> None:
    with pytest.raises(KeyError, match=r"unknown connector type 'soap'; valid: .*rest.*sql"):
        registry.load("soap")


def test_register_adds_a_connector_and_rejects_non_connectors() -> None:
    registry.register("not-a-connector", "federation.errors:SourceError")
    with pytest.raises(TypeError, match="not a Connector subclass"):
        registry.load("not-a-connector")
