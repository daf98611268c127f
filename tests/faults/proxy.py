"""A small fault-injecting TCP proxy on loopback, after toxiproxy's toxics.

Faults apply to new connections (and `down()` to existing ones): `latency` before each chunk
the upstream sends back, `hang` (accept, read, never answer), `reset_after` (forward that many
response bytes, then RST), `garbage` (answer random bytes, never the upstream), `drop` (RST this
fraction of connections at once), and `down()`/`up()` (refuse connections; reset open ones).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from dataclasses import dataclass

__all__ = ["FaultProxy", "Faults"]

CHUNK = 65536


@dataclass
class Faults:
    latency: float = 0.0
    hang: bool = False
    reset_after: int | None = None
    garbage: bool = False
    drop: float = 0.0


class FaultProxy:
    """`async with FaultProxy(host, port) as proxy:` listens on 127.0.0.1:`proxy.port`."""

    def __init__(self, upstream_host: str, upstream_port: int, seed: int = 5) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.faults = Faults()
        self.port = 0
        self.connections = 0
        self._random = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> FaultProxy:
        await self.up()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.down()

    def set(self, **faults: object) -> None:
        """Replace every fault, in place so open connections see it: `proxy.set()` heals."""
        fresh = Faults(**faults)  # type: ignore[arg-type]
        for name in Faults.__dataclass_fields__:
            setattr(self.faults, name, getattr(fresh, name))

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        """Stop listening (connects are refused) and reset every open connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            _reset(writer)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        faults = Faults(**vars(self.faults))
        try:
            await self._serve(reader, writer, faults)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, faults: Faults) -> None:
        if faults.drop and self._random.random() < faults.drop:
            _reset(writer)
            return
        if faults.hang:
            while await reader.read(CHUNK):
                pass
            await asyncio.Event().wait()
        if faults.garbage:
            await reader.read(CHUNK)
            writer.write(bytes(self._random.getrandbits(8) for _ in range(512)))
            await writer.drain()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        self._writers.add(up_writer)
        try:
            await asyncio.gather(_pipe(reader, up_writer, Faults()), _pipe(up_reader, writer, self.faults))
        finally:
            self._writers.discard(up_writer)
            _reset(up_writer)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, faults: Faults) -> None:
    sent = 0
    while data := await reader.read(CHUNK):
        if faults.latency:
            await asyncio.sleep(faults.latency)
        reset_after = faults.reset_after
        if reset_after is not None and sent + len(data) >= reset_after:
            writer.write(data[: max(0, reset_after - sent)])
            await writer.drain()
            _reset(writer)
            return
        writer.write(data)
        await writer.drain()
        sent += len(data)
    if writer.can_write_eof():
        writer.write_eof()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST, not FIN: SO_LINGER with a zero timeout."""
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(OSError, AttributeError):
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
