"""The `model:` section: every model error in a table of bad configs, each with its message."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from federation.api.schema import print_sdl
from federation.config import load_config
from federation.errors import ConfigError
from federation.model import builtin_model

# A small valid model: Post and User (the graphql-benchmarks shape) served by one SQL source.
GOOD: dict[str, Any] = {
    "model": {
        "entities": {
            "Post": {"fields": {"id": {"type": "Int"}, "userId": {"type": "Int"}, "title": {"type": "String"}},
                     "keys": {"userId": {}},
                     "relations": {"user": {"entity": "User", "keys": {"userId": "id"}}}},
            "User": {"fields": {"id": {"type": "Int"}, "name": {"type": "String"}},
                     "keys": {"id": {}},
                     "relations": {"posts": {"entity": "Post", "many": True, "keys": {"id": "userId"}}}},
        },
        "roots": {"posts": {"entity": "Post", "list": True, "args": {"userId": {"field": "userId"}}},
                  "post": {"entity": "Post", "by": "id"}},
    },
    "sources": {"db": {"type": "sql", "url": "sqlite+aiosqlite:///x.db", "entities": {
        "Post": {"table": "posts", "id": "id", "fields": {"id": "id", "userId": "user_id", "title": "title"},
                 "keys": {"userId": "user_id"}},
        "User": {"table": "users", "id": "id", "fields": {"id": "id", "name": "name"}, "keys": {"id": "id"}},
    }}},
}


def changed(path: str, value: Any) -> dict[str, Any]:
    """GOOD with the value at dotted `path` replaced (None deletes it)."""
    config = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node = config
    for part in parents:
        node = node.setdefault(part, {})
    if value is None:
        node.pop(last)
    else:
        node[last] = value
    return config


# (config, expected texts in the error): file, path, problem and the valid choices.
BAD_MODELS: list[tuple[str, dict[str, Any], list[str]]] = [
    ("unknown field type", changed("model.entities.Post.fields.title", {"type": "Txt"}),
     ["model.entities.Post.fields.title.type: unknown type 'Txt' (valid: ", "String"]),
    ("not a type", changed("model.entities.Post.fields.title", {"type": "[String"}),
     ["model.entities.Post.fields.title.type", "is not a type"]),
    ("unknown enum in a list", changed("model.entities.User.fields.tags", {"type": "[Tag]"}),
     ["model.entities.User.fields.tags.type: unknown type 'Tag'"]),
    ("relation key missing on this side", changed("model.entities.Post.relations.user",
                                                  {"entity": "User", "keys": {"authorId": "id"}}),
     ["model.entities.Post.relations.user.keys.authorId: Post has no key 'authorId' (valid: userId)"]),
    ("relation key missing on the other side", changed("model.entities.Post.relations.user",
                                                       {"entity": "User", "keys": {"userId": "uid"}}),
     ["model.entities.Post.relations.user.keys.userId: User has no key 'uid' (valid: id)"]),
    ("relation to an unknown entity", changed("model.entities.Post.relations.user", {"entity": "Usr", "ref": "u"}),
     ["model.entities.Post.relations.user.entity: unknown entity 'Usr' (valid: ", "User"]),
    ("relation that says how nothing", changed("model.entities.Post.relations.user", {"entity": "User"}),
     ["model.entities.Post.relations.user: says neither ref, backref nor keys: it can never resolve"]),
    ("relation to an entity no source maps", changed("model.entities.Post.relations.author",
                                                     {"entity": "Store", "ref": "store"}),
     ["model.entities.Post.relations.author.entity: no source maps Store, so this relation can never resolve "
      "(valid: Post, User)"]),
    ("root on an entity no source maps", changed("model.roots.stores", {"entity": "Store", "list": True}),
     ["model.roots.stores.entity: no source maps Store, so this root can never answer (valid: Post, User)"]),
    ("root clashes with a built-in root", changed("model.roots.customers", {"entity": "User", "list": True}),
     ["model.roots.customers: clashes with the built-in root field 'customers' (valid: any name but customer, "
      "customers, purchase, purchases, case, sources)"]),
    ("root on an unknown entity", changed("model.roots.post", {"entity": "Pots", "by": "id"}),
     ["model.roots.post.entity: unknown entity 'Pots' (valid: ", "Post"]),
    ("root by an unknown key", changed("model.roots.post", {"entity": "Post", "by": "slug"}),
     ["model.roots.post.by: Post has no id or key 'slug' (valid: id, userId)"]),
    ("one-entity root without by", changed("model.roots.post", {"entity": "Post"}),
     ["model.roots.post: returns one entity but says no `by`"]),
    ("argument on an unknown field", changed("model.roots.posts.args", {"author": {"field": "author"}}),
     ["model.roots.posts.args.author.field: Post has no field or key 'author' (valid: id, title, userId)"]),
    ("argument with an unknown operator", changed("model.roots.posts.args", {"t": {"field": "title", "op": "like"}}),
     ["model.roots.posts.args.t.op", "'eq', 'in', 'gt', 'gte', 'lt', 'lte', 'prefix' or 'contains'"]),
    ("argument named info", changed("model.roots.posts.args", {"info": {"field": "title"}}),
     ["model.roots.posts.args.info: 'info' cannot be an argument name"]),
    ("order by an unknown field", changed("model.roots.posts.order", ["-date"]),
     ["model.roots.posts.order[0]: Post has no field 'date' (valid: id, title, userId)"]),
    ("constant root without a value", changed("model.roots.greet", {"type": "String!"}),
     ["model.roots.greet: says no entity: a constant root needs both `type` and `value`"]),
    ("root option misspelt", changed("model.roots.posts.lst", True),
     ["model.roots.posts.lst: unknown option (did you mean 'list'?)"]),
    ("model section misspelt", changed("model.root", {}),
     ["model.root: unknown option (did you mean 'roots'?) (valid: entities, enums, roots)"]),
    ("field and relation with one name", changed("model.entities.Post.fields.user", {"type": "String"}),
     ["model.entities.Post.relations.user: 'user' is both a field and a relation"]),
    ("reserved field name", changed("model.entities.Post.fields.conflicts", {"type": "String"}),
     ["model.entities.Post.fields.conflicts: is a reserved field name"]),
    ("relation named id", changed("model.entities.User.relations.id", {"entity": "Post", "keys": {"id": "userId"}}),
     ["model.entities.User.relations.id: is a reserved field name"]),
    ("built-in field retyped", changed("model.entities.Customer", {"fields": {"name": {"type": "Int"}}}),
     ["model.entities.Customer.fields.name.type: Customer.name is built in as String; a config may change its "
      "merge rule, not its type (valid: String)"]),
    ("built-in entity given an id", changed("model.entities.Customer", {"fields": {"id": {"type": "Int"}}}),
     ["model.entities.Customer.fields.id: Customer is built in and keeps the gateway's id: ID!"]),
    ("cycle no root reaches", changed("model.roots", {}),
     ["model.entities.Post.relations: Post → User only reach each other: no root field or other relation leads "
      "into this cycle, so it can never resolve (valid: declare a root under model.roots for one of Post, User"]),
]


def write(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "onepane.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def test_the_good_model_loads_and_prints_its_roots(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    sdl = print_sdl(config.model)
    assert "posts(userId: Int = null): [Post]" in sdl
    assert "post(id: Int!): Post" in sdl
    assert "type Post {\n  \"\"\"The source of the primary record.\"\"\"\n  source: String!\n  id: Int\n" in sdl


@pytest.mark.parametrize(("case", "config", "expected"), BAD_MODELS, ids=[row[0] for row in BAD_MODELS])
def test_bad_model_names_file_path_problem_and_valid_choices(tmp_path: Path, case: str, config: dict[str, Any],
                                                             expected: list[str]) -> None:
    path = write(tmp_path, config)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = str(caught.value)
    assert str(path) in text
    for part in expected:
        assert part in text, f"{case}: {part!r} not in {text}"


def test_a_key_written_twice_is_an_error_with_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text(
        "model:\n"
        "  entities:\n"
        "    Post:\n"
        "      fields:\n"
        "        title: {type: String}\n"
        "        title: {type: Int}\n"
        "sources: {db: {type: sql, url: 'sqlite+aiosqlite:///x.db'}}\n", "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert (f"{path}: line 6: duplicate key 'title' (first written at line 5); YAML would silently keep only "
            "the last one (valid: each key once per mapping)") in str(caught.value)


def test_every_model_problem_is_reported_at_once(tmp_path: Path) -> None:
    config = changed("model.entities.Post.fields.title", {"type": "Txt"})
    config["model"]["roots"]["customer"] = {"entity": "User", "by": "id"}
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, config))
    assert len(caught.value.problems) == 2


def test_the_builtin_model_has_no_declared_roots_and_checks_clean() -> None:
    from federation.model import check_model

    assert builtin_model().roots == {}
    assert check_model(builtin_model()) == []
