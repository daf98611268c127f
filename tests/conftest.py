"""Shared test helpers: real services on loopback are skipped when down, unless required."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

import pytest

__all__ = ["require_service"]


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
