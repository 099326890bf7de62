"""The drills' load generator against a small HTTP/1.1 server: keep-alive, chunked bodies,
``Connection: close``, refused connections."""

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from bench.load import Request, generate, refreshing, rotate, statuses, summarize
from scripts.local_services import free_port


class TinyServer:
    """Answers each request per its path: ``/plain``, ``/chunked`` (echoes the JSON body's
    token in a new one), ``/close`` (closes after answering)."""

    def __init__(self) -> None:
        self.connections = 0
        self.bodies: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                lines = head.decode().split("\r\n")
                path = lines[0].split(" ")[1]
                length = next(
                    (
                        int(line.split(":")[1])
                        for line in lines
                        if line.lower().startswith("content-length")
                    ),
                    0,
                )
                body = await reader.readexactly(length)
                self.bodies.append(body)
                if path == "/chunked":
                    token = json.loads(body)["refresh_token"]
                    payload = json.dumps({"refresh_token": token + "+"}).encode()
                    half = len(payload) // 2
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + f"{half:x}\r\n".encode() + payload[:half] + b"\r\n"
                        + f"{len(payload) - half:x}\r\n".encode() + payload[half:] + b"\r\n"
                        + b"0\r\n\r\n"
                    )  # fmt: skip
                elif path == "/close":
                    writer.write(
                        b"HTTP/1.1 503 Busy\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno"
                    )
                    await writer.drain()
                    break
                else:
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()


@pytest.fixture
async def tiny() -> AsyncIterator[tuple[TinyServer, str]]:
    handler = TinyServer()
    port = free_port()
    server = await asyncio.start_server(handler.handle, "127.0.0.1", port)
    async with server:
        yield handler, f"http://127.0.0.1:{port}"


async def test_keep_alive_connections_are_reused(tiny: tuple[TinyServer, str]) -> None:
    handler, base = tiny
    samples = await generate(
        rotate([Request("GET", f"{base}/plain", name="plain")]), connections=2, seconds=0.3
    )

    assert len(samples) > 20
    assert statuses(samples) == {"200": len(samples)}
    assert handler.connections == 2
    assert summarize(samples, 0.3)["non2xx"] == 0


async def test_chunked_answers_feed_the_next_request(tiny: tuple[TinyServer, str]) -> None:
    handler, base = tiny
    samples = await generate(refreshing(f"{base}/chunked", "t"), connections=1, seconds=0.2)

    assert statuses(samples) == {"200": len(samples)}
    tokens = [json.loads(body)["refresh_token"] for body in handler.bodies]
    assert tokens[:3] == ["t", "t+", "t++"]


async def test_a_closing_server_gets_a_new_connection(tiny: tuple[TinyServer, str]) -> None:
    handler, base = tiny
    samples = await generate(rotate([Request("GET", f"{base}/close")]), connections=1, seconds=0.2)

    assert statuses(samples) == {"503": len(samples)}
    assert handler.connections == len(samples)
    assert summarize(samples, 0.2)["non2xx"] == len(samples)


async def test_refused_connections_are_errors_not_crashes() -> None:
    url = f"http://127.0.0.1:{free_port()}/nothing"
    samples = await generate(rotate([Request("GET", url)]), connections=1, seconds=0.2)

    assert samples
    assert set(statuses(samples)) == {"error:ConnectionRefusedError"}
    assert summarize(samples, 0.2)["errors"] == len(samples)
