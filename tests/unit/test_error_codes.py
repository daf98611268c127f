"""Every `extensions.code` is spelled in federation/errors.py and nowhere else in the code.

The scan reads the source with `ast`, so it fails as soon as someone writes a code literal into
another module: a known code anywhere, or any upper-case literal where a code goes (a `code`
attribute, a `"code"` key, a `code=` argument, the `code` parameter of a function of ours, a
comparison with an error's code). Tests may spell codes: they check what a client sees.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from federation import errors

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "federation" / "errors.py"
# Codes are upper-case words joined by underscores (BAD_USER_INPUT, FORBIDDEN): no digits, so
# sample values ("AB123") and currency codes are not mistaken for one.
CODE_LIKE = re.compile(r"[A-Z]{4,}(?:_[A-Z]+)*")


def _sources() -> list[Path]:
    return sorted(p for package in ("federation", "connectors") for p in (ROOT / package).rglob("*.py"))


def _is_code_ref(node: ast.AST) -> bool:
    """`x.code`, `code`, `x["code"]` or `x.get("code", …)`: an expression that reads an error's code."""
    match node:
        case ast.Attribute(attr="code") | ast.Name(id="code"):
            return True
        case ast.Subscript(slice=ast.Constant(value="code")):
            return True
        case ast.Call(func=ast.Attribute(attr="get"), args=[ast.Constant(value="code"), *_]):
            return True
    return False


def _code_params(trees: dict[Path, ast.Module]) -> dict[str, int]:
    """Callable name → position of its `code` parameter, for functions and classes of ours."""
    found: dict[str, int] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
                names = [a.arg for a in init.args.args[1:]] if init else []
                if "code" in names:
                    found[node.name] = names.index("code")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names = [a.arg for a in node.args.args]
                if names[:1] in (["self"], ["cls"]):
                    names = names[1:]
                if "code" in names:
                    found.setdefault(node.name, names.index("code"))
    return found


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    value: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.value!r} ({self.why}); import it from federation.errors"


def _in_code_position(tree: ast.Module, params: dict[str, int]) -> list[tuple[ast.Constant, str]]:
    """String literals a code is written into."""
    spots: list[tuple[ast.AST, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):  # `code = …` on an error type (a local `code` is any value)
            spots += [(stmt.value, "assigned to a code") for stmt in node.body
                      if isinstance(stmt, ast.Assign) and any(_is_code_ref(t) for t in stmt.targets)]
            spots += [(stmt.value, "assigned to a code") for stmt in node.body
                      if isinstance(stmt, ast.AnnAssign) and stmt.value is not None and _is_code_ref(stmt.target)]
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr == "code"
                                                  for t in node.targets):
            spots.append((node.value, "assigned to a code"))
        elif isinstance(node, ast.Dict):
            spots += [(v, '"code" key') for k, v in zip(node.keys, node.values, strict=True)
                      if isinstance(k, ast.Constant) and k.value == "code"]
        elif isinstance(node, ast.Call):
            spots += [(k.value, "code= argument") for k in node.keywords if k.arg == "code"]
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            where = params.get(name or "")
            if where is not None and where < len(node.args):
                spots.append((node.args[where], f"code parameter of {name}"))
            if _is_code_ref(node) and len(node.args) > 1:
                spots.append((node.args[1], "default of a code read"))
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_code_ref(s) for s in sides):
                spots += [(s, "compared with a code") for s in sides]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args.args[len(node.args.args) - len(node.args.defaults):]
            spots += [(d, "default of a code parameter") for a, d in zip(args, node.args.defaults, strict=True)
                      if a.arg == "code"]
    found: list[tuple[ast.Constant, str]] = []
    for expr, why in spots:
        for leaf in ast.walk(expr):  # a conditional or a set of codes counts too
            if isinstance(leaf, ast.Constant) and isinstance(leaf.value, str) and CODE_LIKE.fullmatch(leaf.value):
                found.append((leaf, why))
    return found


def _docstrings(tree: ast.Module) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def scan(paths: list[Path], known: frozenset[str]) -> list[Finding]:
    """Every code literal outside federation/errors.py."""
    trees = {p: ast.parse(p.read_text(encoding="utf-8"), str(p)) for p in paths}
    params = _code_params(trees)
    findings: set[Finding] = set()
    for path, tree in trees.items():
        if path == HOME:
            continue
        shown = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in known and id(node) not in skip:
                findings.add(Finding(shown, node.lineno, node.value, "a code defined in federation/errors.py"))
        for node, why in _in_code_position(tree, params):
            findings.add(Finding(shown, node.lineno, node.value, why))
    return sorted(findings, key=lambda f: (f.path, f.line, f.value))


def test_every_code_is_defined_once_in_federation_errors() -> None:
    found = scan(_sources(), errors.CODES)
    assert not found, "extensions codes spelled outside federation/errors.py:\n" + "\n".join(map(str, found))


def test_codes_in_the_tree_come_from_the_constants() -> None:
    defined = {name for name, value in vars(errors).items() if name.isupper() and isinstance(value, str)}
    assert defined == set(errors.CODES)
    assert all(name == value for name, value in vars(errors).items() if name in defined)
    assert errors.SOURCE_CODES <= errors.CODES


@pytest.mark.parametrize(("source", "why"), [
    ('class Gone(QueryError):\n    code = "GONE"\n', "assigned to a code"),
    ('def f():\n    return {"message": "m", "extensions": {"code": "TEAPOT"}}\n', '"code" key'),
    ('def f():\n    raise GraphQLError("m", extensions=dict(code="TEAPOT"))\n', "code= argument"),
    ('def _error(status, code, message): ...\ndef f():\n    return _error(418, "TEAPOT", "m")\n',
     "code parameter of _error"),
    ('def f(e):\n    return e.get("code") == "TEAPOT"\n', "compared with a code"),
    ('def f(e):\n    return e.extensions["code"] in ("TEAPOT", "KETTLE")\n', "compared with a code"),
    ('def f(e):\n    return e.get("code", "TEAPOT")\n', "default of a code read"),
    ('LIMIT = "QUERY_TOO_COSTLY"\n', "a code defined in federation/errors.py"),
])
def test_a_new_code_literal_anywhere_else_fails(tmp_path: Path, source: str, why: str) -> None:
    module = tmp_path / "new_module.py"
    module.write_text(source, encoding="utf-8")
    found = scan([module], errors.CODES)
    assert [f.why for f in found][:1] == [why], found


def test_ordinary_upper_case_strings_are_not_codes(tmp_path: Path) -> None:
    module = tmp_path / "plain.py"
    module.write_text(
        'KIND = "VARCHAR"\n'
        'def f(code, currency):\n'
        '    code = currency or "USD"\n'
        '    sample = {"phone": "+442079460958", "code": "AB123"}\n'
        '    return {"status": "UNKNOWN", "code": code}\n', encoding="utf-8")
    assert scan([module], errors.CODES) == []
