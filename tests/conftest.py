"""Shared test helpers: real services on loopback are skipped when down, unless required."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from federation import registry

__all__ = ["free_port", "fresh_postgres", "require_service", "serve_app"]

# An install made before pyproject.toml declared the `files` entry point does not list it yet
# (`pip install -e .` again does); the tests run against this checkout's connectors either way.
if "files" not in registry.available():
    registry.register("files", "connectors.files:FilesConnector")


def require_service(host: str, port: int, name: str = "") -> None:
    """Skip the test when nothing listens on host:port; fail instead if ONEPANE_REQUIRE_SERVICES is set."""
    try:
        socket.create_connection((host, port), timeout=1.0).close()
    except OSError:
        message = f"{name or 'service'} is not reachable on {host}:{port}"
        if os.environ.get("ONEPANE_REQUIRE_SERVICES"):
            pytest.fail(f"{message} and ONEPANE_REQUIRE_SERVICES is set")
        pytest.skip(message)


@pytest.fixture(name="require_service", scope="session")
def require_service_fixture() -> Callable[[str, int, str], None]:
    """The `require_service(host, port, name)` helper as a fixture."""
    return require_service


PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


async def pg_admin(statement: str) -> None:
    """One statement on the local PostgreSQL's `postgres` database, outside a transaction."""
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(sa.text(statement))
    await engine.dispose()


@contextmanager
def fresh_postgres(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on 127.0.0.1 as an operator writes its URL
    (`postgresql://`), dropped afterwards; skipped or failed like `require_service`."""
    require_service("127.0.0.1", 5432, "PostgreSQL")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    asyncio.run(pg_admin(f"CREATE DATABASE {name}"))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(pg_admin(f"DROP DATABASE {name} WITH (FORCE)"))


def free_port() -> int:
    """A loopback port nothing listens on right now (for servers started as subprocesses)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def serve_app(app: web.Application) -> AsyncIterator[str]:
    """Serve a real aiohttp app on 127.0.0.1 at a free port; its base URL."""
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
