"""GraphiQL served from this process, so the IDE works on a network without a CDN.

Strawberry's GraphiQL page loads React, GraphiQL and its explorer plugin from a public CDN;
in a contact centre or a locked-down data centre that page stays on "Loading..." forever. The
same files (byte for byte: the page's subresource-integrity hashes still check them) ship in
`assets/`, taken from the npm packages whose versions the page names; their licences are in
`licenses/`. The page is strawberry's own, with each CDN address rewritten to a relative one,
so it also works behind a path prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from importlib import resources
from importlib.abc import Traversable

from aiohttp import web
from strawberry.http.ides import get_graphql_ide_html

from federation.security.middleware import PUBLIC_ROUTE

__all__ = ["ASSET_ROOT", "graphiql_page", "setup_graphiql"]

ASSET_ROOT = "graphiql"  # URL path of the assets, relative to /graphql's parent
_CDN_FILE = re.compile(r'https://[^/"]+/([^"]+)')
_TYPES = {".js": "text/javascript", ".css": "text/css"}
_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",  # every path names its package version
    "X-Content-Type-Options": "nosniff",
}


@cache
def graphiql_page() -> str:
    """Strawberry's GraphiQL page with every CDN file served from here; fails loudly if one is missing."""
    html = get_graphql_ide_html("graphiql")
    files = _asset_files()
    for path in _CDN_FILE.findall(html):
        if path not in files:
            raise RuntimeError(f"GraphiQL needs {path}, which is not shipped in federation/graphiql/assets/")
    return _CDN_FILE.sub(lambda match: f"{ASSET_ROOT}/{match.group(1)}", html)


@cache
def _asset_files() -> dict[str, Traversable]:
    root = resources.files(__name__).joinpath("assets")
    return {path: entry for path, entry in _walk(root, "")}


def _walk(folder: Traversable, prefix: str) -> Iterator[tuple[str, Traversable]]:
    for entry in folder.iterdir():
        if entry.is_dir():
            yield from _walk(entry, f"{prefix}{entry.name}/")
        elif entry.name[entry.name.rfind("."):] in _TYPES:
            yield f"{prefix}{entry.name}", entry


def setup_graphiql(app: web.Application) -> None:
    """Serve the shipped files at /graphiql/…, without credentials: they hold no data."""
    app.router.add_get(f"/{ASSET_ROOT}/{{path:.+}}", _asset, name=f"{PUBLIC_ROUTE}graphiql")


async def _asset(request: web.Request) -> web.StreamResponse:
    # Only the files shipped are served: the path is a key, never joined onto a directory.
    entry = _asset_files().get(request.match_info["path"])
    if entry is None:
        raise web.HTTPNotFound()
    name = entry.name
    response = web.Response(body=_read(request.match_info["path"]), content_type=_TYPES[name[name.rfind("."):]],
                            charset="utf-8", headers=_HEADERS)
    response.enable_compression()  # GraphiQL's bundle is 3.5 MB, about 1 MB compressed
    return response


@cache
def _read(path: str) -> bytes:
    return _asset_files()[path].read_bytes()
