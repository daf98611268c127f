"""Trino catalogs and expressions for SQL sources: the right connector, never a password, honest refusals."""

from __future__ import annotations

from connectors.sql.config import SqlEntityMap
from connectors.sql.trino import trino_catalog, trino_view
from federation.model import builtin_model


def test_each_database_kind_gets_its_trino_connector() -> None:
    assert trino_catalog("pos", "mysql+aiomysql://root@db.internal:3306/pos") == {
        "connector.name": "mysql", "connection-url": "jdbc:mysql://db.internal:3306/", "connection-user": "root"}
    maria = trino_catalog("web shop", "mariadb://app:hunter2@10.0.0.5/shop")
    assert isinstance(maria, dict) and maria["connector.name"] == "mariadb"
    assert maria["connection-password"] == "${ENV:ONEPANE_WEB_SHOP_PASSWORD}"
    assert "hunter2" not in "".join(maria.values())


def test_a_database_trino_cannot_reach_says_why() -> None:
    assert trino_catalog("legacy", "sqlite:///legacy.db") == "Trino has no connector for sqlite databases"


def test_steps_without_a_trino_equivalent_stay_in_onepane() -> None:
    decl = builtin_model().entities["Customer"]
    mapping = SqlEntityMap.model_validate({
        "table": "members", "id": "member_no",
        "fields": {"name": {"columns": ["first", "last"], "transform": [{"join": " "}]},
                   "phones": "phone", "dateOfBirth": {"column": "born", "transform": [{"date": "DD.MM.YYYY"}]}}})
    view = trino_view("postgresql://u@h/db", mapping, decl)
    assert not isinstance(view, str)
    assert view.relation == '"public"."members"'
    assert "field:name" in view.kept and "field:phones" in view.kept
    assert view.columns["field:dateOfBirth"] == \
        "CAST(try(date_parse(trim(CAST(t.\"born\" AS varchar)), '%d.%m.%Y')) AS date)"
    custom = SqlEntityMap.model_validate({"select": "SELECT * FROM members", "id": "member_no"})
    assert "select:" in str(trino_view("postgresql://u@h/db", custom, decl))
