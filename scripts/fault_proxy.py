"""A TCP proxy that misbehaves on demand, in front of PostgreSQL, Redis or an SMTP server.

Modes: ``pass`` (relay as is), ``delay`` (every chunk arrives ``delay`` seconds late),
``blackhole`` (connections stay open, and new ones are accepted, but nothing goes through in
either direction until the mode changes: a frozen host, a half-open connection). Actions:
``reset()`` aborts every open connection with a TCP reset; ``refuse()`` stops listening until
``resume()``; ``down()`` does both, as a stopped server. Used by the tests in the event loop
they run on, and by the drills through ``ThreadedFaultProxy``.
"""

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine, Iterator
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

T = TypeVar("T")


class Mode(StrEnum):
    PASS = "pass"  # noqa: S105 - a mode, not a password
    DELAY = "delay"
    BLACKHOLE = "blackhole"


class FaultProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.mode = Mode.PASS
        self.delay = 0.0
        self.port = 0

    @classmethod
    def for_url(cls, url: str) -> "FaultProxy":
        """A proxy for the server of ``url`` (PostgreSQL, Redis or SMTP)."""
        parts = urlsplit(url)
        scheme = parts.scheme.split("+")[0]
        return cls(parts.hostname or "127.0.0.1", parts.port or _DEFAULT_PORTS[scheme])

    def url(self, url: str) -> str:
        """``url`` (same scheme, credentials and path) pointed at the proxy."""
        parts = urlsplit(url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@127.0.0.1:{self.port}" if credentials else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    async def start(self) -> "FaultProxy":
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        await self.refuse()
        self.set_mode(Mode.PASS)
        self.reset()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

    def set_mode(self, mode: Mode | str, delay: float = 0.0) -> None:
        self.mode = Mode(mode)
        self.delay = delay if self.mode is Mode.DELAY else 0.0
        if self.mode is Mode.BLACKHOLE:
            self._flowing.clear()
        else:
            self._flowing.set()

    def reset(self) -> None:
        """Abort every open connection with a TCP reset (RST), on both sides."""
        for pair in list(self._links):
            for writer in pair:
                _abort(writer)
        self._links.clear()

    async def refuse(self) -> None:
        """Stop accepting connections; the port refuses them until ``resume``."""
        if self._server is not None:
            self._server.close()
            self._server = None
            await asyncio.sleep(0)

    async def resume(self) -> None:
        if self._server is None:
            await self.start()

    async def down(self) -> None:
        """Refuse new connections and reset the open ones, as a stopped server does."""
        await self.refuse()
        self.reset()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._flowing.wait()
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
            except OSError:
                _abort(writer)
                return
            link = (writer, upstream_writer)
            self._links.add(link)
            await asyncio.gather(
                self._pipe(reader, upstream_writer),
                self._pipe(upstream_reader, writer),
                return_exceptions=True,
            )
            self._links.discard(link)
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await self._flowing.wait()
                data = await reader.read(65536)
                if not data:
                    break
                if self.delay:
                    await asyncio.sleep(self.delay)
                # Read just before a blackhole began: held until it ends, like the rest.
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        finally:
            with contextlib.suppress(OSError, RuntimeError):
                writer.close()


_DEFAULT_PORTS = {"redis": 6379, "rediss": 6379, "postgresql": 5432, "smtp": 25}


def _abort(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class ThreadedFaultProxy:
    """A ``FaultProxy`` on its own event loop in a thread, driven from synchronous code."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._proxy = FaultProxy(target_host, target_port)

    @classmethod
    def for_url(cls, url: str) -> "ThreadedFaultProxy":
        return cls(*FaultProxy.for_url(url).target)

    @property
    def port(self) -> int:
        return self._proxy.port

    def url(self, url: str) -> str:
        return self._proxy.url(url)

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def set_mode(self, mode: Mode | str, delay: float = 0.0) -> None:
        self._loop.call_soon_threadsafe(self._proxy.set_mode, mode, delay)

    def reset(self) -> None:
        self._loop.call_soon_threadsafe(self._proxy.reset)

    @contextlib.contextmanager
    def running(self) -> Iterator["ThreadedFaultProxy"]:
        self._thread.start()
        self._run(self._proxy.start())
        try:
            yield self
        finally:
            self._run(self._proxy.stop())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()
