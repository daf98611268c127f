"""`federation import openapi FILE_OR_URL`: draft a mapping from a published API description.

Each GET endpoint that lists records (its path does not end in a parameter) is a candidate
table: its 200 JSON response's array of objects gives the records path and the properties give
the columns (type, format, declared enum). A description holds no rows, so every guess rests on
names and declarations alone, and says so.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from yarl import URL

from connectors.sdk.drafting import ColumnProfile, TableProfile, draft_entities, render_source
from connectors.sdk.drafting.profile import Kind, words
from connectors.sdk.drafting.render import source_name
from federation.drafts import DraftError, DraftRequest

__all__ = ["draft_openapi", "load_document", "shown_target"]

_KINDS: dict[str, Kind] = {"string": "text", "integer": "int", "number": "decimal", "boolean": "bool",
                           "object": "json", "array": "json"}
_PARAM = re.compile(r"\{([^}]+)\}")


def shown_target(target: str) -> str:
    """A file as given; a URL without its user, password or query (where API keys travel)."""
    if not target.startswith(("http://", "https://")):
        return target
    return str(URL(target).with_user(None).with_password(None).with_query(None))


async def load_document(target: str, timeout: float, base_dir: Path) -> Mapping[str, Any]:
    """The parsed description; DraftError naming the file or URL and what went wrong."""
    if target.startswith(("http://", "https://")):
        shown = shown_target(target)
        try:
            async with (aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
                        session.get(target) as response):
                if response.status != 200:
                    raise DraftError(f"cannot download {shown}: HTTP {response.status}")
                text = await response.text()
        except (TimeoutError, aiohttp.ClientError, UnicodeDecodeError) as exc:
            reason = (f"no answer within {timeout:g}s" if isinstance(exc, asyncio.TimeoutError)
                      else f"unreachable ({type(exc).__name__})" if isinstance(exc, aiohttp.ClientConnectionError)
                      else type(exc).__name__)
            raise DraftError(f"cannot download {shown}: {reason}") from None
    else:
        shown = target
        path = Path(target) if Path(target).is_absolute() else base_dir / target
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DraftError(f"cannot read {shown}: {getattr(exc, 'strerror', None) or type(exc).__name__}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise DraftError(f"{shown} is not JSON or YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(document, dict) or not ({"openapi", "swagger"} & set(document)):
        raise DraftError(f"{shown} is not an OpenAPI description (no 'openapi' or 'swagger' version at its top)")
    if not isinstance(document.get("paths"), dict):
        raise DraftError(f"{shown} is not an OpenAPI description: it has no 'paths'")
    return document


async def draft_openapi(request: DraftRequest) -> str:
    document = await load_document(request.target, request.timeout, request.base_dir)
    resolver = _Resolver(document)
    tables = [t for path, item in document["paths"].items() if (t := _endpoint(path, item, resolver))]
    info: dict[str, Any] = document["info"] if isinstance(document.get("info"), dict) else {}
    name = request.name or source_name(str(info.get("title") or Path(request.target).stem))
    drafts, skipped = draft_entities(tables, request.model, request.region, request.currency)
    options, todo = _options(document, name)
    header = [f"Drafted by `federation import openapi {shown_target(request.target)}` from {len(tables)} list "
              f"endpoint(s) of '{info.get('title', 'the API')}' {info.get('version', '')}".rstrip() + ".",
              "A description holds no records: every guess rests on names and declared types alone.",
              "Each guess says why and how sure; answer every `# TODO` and run `federation check`.", *todo]
    return render_source(name, "rest", header, options, drafts, skipped)


def _options(document: Mapping[str, Any], name: str) -> tuple[list[tuple[str, Any, str]], list[str]]:
    servers = document.get("servers") or [{}]
    base = str(servers[0].get("url") or "").rstrip("/") if isinstance(servers[0], dict) else ""
    if not base and document.get("host"):  # Swagger 2
        base = f"{(document.get('schemes') or ['https'])[0]}://{document['host']}{document.get('basePath', '')}"
    todo = [] if base.startswith(("http://", "https://")) else [
        "TODO: base_url: the description names no absolute server URL; where does the API run?"]
    options: list[tuple[str, Any, str]] = [
        ("base_url", base or "https://api.example.com", "servers[0] of the description")]
    auth = _auth(document, name)
    if auth is not None:
        options.append(("auth", auth[0], auth[1]))
    return options, todo


def _auth(document: Mapping[str, Any], name: str) -> tuple[dict[str, str], str] | None:
    schemes = (document.get("components") or {}).get("securitySchemes") or document.get("securityDefinitions") or {}
    secret = "${" + name.upper() + "_TOKEN}"
    for scheme_name, scheme in schemes.items():
        if not isinstance(scheme, dict):
            continue
        if scheme.get("type") == "apiKey" and scheme.get("in") in ("header", "query"):
            return ({"type": "api_key", scheme["in"]: scheme.get("name", ""), "value": secret},
                    f"security scheme {scheme_name}: set {secret[2:-1]}")
        if scheme.get("type") == "http" and scheme.get("scheme") == "bearer":
            return {"type": "bearer", "token": secret}, f"security scheme {scheme_name}: set {secret[2:-1]}"
    return None


class _Resolver:
    """Follows local `$ref`s (`#/components/schemas/x`), never into a cycle."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document

    def __call__(self, node: Any, seen: frozenset[str] = frozenset()) -> tuple[Any, str]:
        name = ""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"] not in seen:
            ref = node["$ref"]
            seen |= {ref}
            name = ref.rsplit("/", 1)[-1]
            node = self._at(ref)
        return node, name

    def _at(self, ref: str) -> Any:
        node: Any = self.document
        for part in ref.removeprefix("#/").split("/"):
            node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
        return node


def _endpoint(path: str, item: Any, resolve: _Resolver) -> TableProfile | None:
    get = item.get("get") if isinstance(item, dict) else None
    if not isinstance(get, dict) or path.rstrip("/").endswith("}"):
        return None
    responses = get.get("responses") or {}
    ok = responses.get("200") or responses.get(200) or {}
    ok, _ = resolve(ok)
    schema = ((ok.get("content") or {}).get("application/json") or {}).get("schema") if isinstance(ok, dict) else None
    if schema is None and isinstance(ok, dict):
        schema = ok.get("schema")  # Swagger 2
    found = _records(schema, resolve, "", 0)
    if found is None:
        return None
    records, item_schema, label = found
    props = item_schema.get("properties") or {}
    columns = tuple(_column(n, p, resolve) for n, p in props.items() if isinstance(p, dict))
    segment = next((s for s in reversed(path.strip("/").split("/")) if not s.startswith("{")), path)
    notes = [f"TODO: the path takes {{{p}}}: write its value into the path (which {p}?)"
             for p in _PARAM.findall(path)]
    pages = [p.get("name") for p in get.get("parameters") or [] if isinstance(p, dict) and p.get("in") == "query"
             and str(p.get("name", "")).lower() in ("page", "offset", "cursor", "page_token", "starting_after")]
    if pages:
        notes.append(f"TODO: this endpoint pages with ?{pages[0]}=…: add a `pagination:` "
                     "(docs/connectors/rest.md) or only the first page is read")
    origin = {"path": path, "records": records or "@"}
    primary = ("id",) if "id" in props else ()
    return TableProfile(segment, columns, origin, primary, (), sampled=False, label=label, notes=tuple(notes))


def _records(schema: Any, resolve: _Resolver, at: str, depth: int) -> tuple[str, dict[str, Any], str] | None:
    """The JMESPath of the first array of objects in a response, its item schema and name."""
    schema, name = resolve(schema)
    if not isinstance(schema, dict) or depth > 3:
        return None
    if schema.get("type") == "array" or "items" in schema:
        item, item_name = resolve(schema.get("items"))
        if isinstance(item, dict) and (item.get("properties") or item.get("type") == "object"):
            return at, item, item_name or name
        return None
    for key, sub in (schema.get("properties") or {}).items():
        found = _records(sub, resolve, f"{at}.{key}" if at else key, depth + 1)
        if found is not None:
            return found[0], found[1], found[2] or name
    return None


def _column(name: str, prop: dict[str, Any], resolve: _Resolver) -> ColumnProfile:
    prop, _ = resolve(prop)
    kinds = prop.get("type") if isinstance(prop, dict) else None
    kinds = [kinds] if isinstance(kinds, str) else [k for k in kinds or [] if k != "null"]
    kind: Kind = _KINDS.get(kinds[0], "other") if kinds else ("json" if prop.get("properties") else "other")
    fmt = str(prop.get("format") or "")
    if kind == "text" and fmt in ("date-time", "date"):
        kind = "datetime" if fmt == "date-time" else "date"
    enum = tuple(str(v) for v in prop.get("enum") or [] if v is not None)
    if kind == "decimal" and words(name)[-1:] == ("id",):
        kind = "int"  # `type: number` ids are whole numbers in every API that writes them so
    return ColumnProfile(name, kind, name == "id", None, enum, fmt, str(prop.get("description") or ""))
