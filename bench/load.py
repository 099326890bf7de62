"""A small HTTP/1.1 load generator on asyncio streams, for the drills and when wrk is missing.

Each connection runs its own loop of keep-alive requests for a fixed time (or until stopped)
and every response is recorded with its start time, latency and status, so a drill can look at
what happened in any window. The client is written on raw streams because general-purpose
clients spend more CPU per request than the server under test. ``python -m bench.load SPEC_JSON``
runs one load in its own process and prints the same one-line JSON report as ``bench.run``'s
wrk script.
"""

import asyncio
import itertools
import json
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    name: str = ""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Sample:
    name: str
    started: float  # time.monotonic() when the request was sent
    seconds: float
    status: int  # 0 when no response came back
    error: str = ""


# Given the connection's number and its previous response, the next request to send.
NextRequest = Callable[[int, Response | None], Request]


def rotate(requests: Sequence[Request]) -> NextRequest:
    """Every connection cycles through ``requests``, each starting at its own offset."""
    counters: dict[int, int] = {}

    def next_request(connection: int, _previous: Response | None) -> Request:
        count = counters.get(connection, connection)
        counters[connection] = count + 1
        return requests[count % len(requests)]

    return next_request


class Connection:
    """One keep-alive HTTP/1.1 connection, opened again whenever the server closed it."""

    def __init__(self) -> None:
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._address: tuple[str, int] | None = None

    async def send(self, request: Request) -> Response:
        url = urlsplit(request.url)
        address = (url.hostname or "127.0.0.1", url.port or 80)
        if self._streams is None or self._address != address:
            self.close()
            self._streams = await asyncio.open_connection(*address)
            self._address = address
        reader, writer = self._streams
        target = url.path + (f"?{url.query}" if url.query else "")
        head = [f"{request.method} {target} HTTP/1.1", f"Host: {url.netloc}"]
        head += [f"{key}: {value}" for key, value in request.headers.items()]
        if request.body or request.method in {"POST", "PUT", "PATCH"}:
            head.append(f"Content-Length: {len(request.body)}")
        try:
            writer.write("\r\n".join(head).encode() + b"\r\n\r\n" + request.body)
            status, headers = _parse_head(await reader.readuntil(b"\r\n\r\n"))
            if headers.get("transfer-encoding") == "chunked":
                body = await _read_chunks(reader)
            else:
                body = await reader.readexactly(int(headers.get("content-length", "0")))
        except BaseException:
            self.close()
            raise
        if headers.get("connection") == "close":
            self.close()
        return Response(status, body)

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip().lower()
    return int(status_line.split(" ", 2)[1]), headers


async def _read_chunks(reader: asyncio.StreamReader) -> bytes:
    body = b""
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        body += await reader.readexactly(size + 2)
        body = body[:-2]
    await reader.readuntil(b"\r\n")
    return body


async def generate(
    next_request: NextRequest,
    *,
    connections: int,
    seconds: float | None = None,
    stop: asyncio.Event | None = None,
    request_timeout: float = 30.0,
) -> list[Sample]:
    """Send requests on ``connections`` connections until ``seconds`` pass or ``stop`` is set."""
    samples: list[Sample] = []
    stop = stop or asyncio.Event()

    async def connection(number: int) -> None:
        conn = Connection()
        previous: Response | None = None
        while not stop.is_set():
            request = next_request(number, previous)
            started = time.monotonic()
            try:
                async with asyncio.timeout(request_timeout):
                    previous = await conn.send(request)
                status, error = previous.status, ""
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                previous, status, error = None, 0, type(exc).__name__
                await asyncio.sleep(0.05)  # a refused connection must not spin
            samples.append(Sample(request.name, started, time.monotonic() - started, status, error))
        conn.close()

    if seconds is not None:
        asyncio.get_running_loop().call_later(seconds, stop.set)
    await asyncio.gather(*(connection(number) for number in range(connections)))
    return samples


def summarize(samples: Sequence[Sample], seconds: float) -> dict[str, float]:
    """requests/s, p50/p99 in ms, transport errors and non-2xx counts, like the wrk report."""
    answered = [sample for sample in samples if sample.status]
    latencies = sorted(sample.seconds * 1000 for sample in answered) or [0.0]
    return {
        "requests": len(samples),
        "seconds": seconds,
        "rps": len(answered) / seconds,
        "errors": len(samples) - len(answered),
        "non2xx": sum(1 for sample in answered if not 200 <= sample.status < 300),
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


def statuses(samples: Sequence[Sample]) -> dict[str, int]:
    """How many samples ended with each status (``error:<name>`` for no response)."""
    return dict(
        Counter(
            str(sample.status) if sample.status else f"error:{sample.error}" for sample in samples
        )
    )


def refreshing(url: str, token: str) -> NextRequest:
    """``POST`` the refresh token, then the one each response returns (one connection)."""
    current = [token]

    def next_request(_connection: int, previous: Response | None) -> Request:
        if previous is not None and previous.status == 200:
            current[0] = previous.json()["refresh_token"]
        body = json.dumps({"refresh_token": current[0]}).encode()
        return Request("POST", url, {"Content-Type": "application/json"}, body)

    return next_request


def numbered(request: Request, template: str) -> NextRequest:
    """``request`` with ``template`` as its body, ``{n}`` replaced by a value new each time,
    in this run and any other (a registration per request)."""
    counter = itertools.count(1)
    run = uuid.uuid4().hex[:8]

    def next_request(_connection: int, _previous: Response | None) -> Request:
        body = template.replace("{n}", f"{run}x{next(counter)}").encode()
        return Request(request.method, request.url, request.headers, body)

    return next_request


def main() -> None:
    spec = json.loads(sys.argv[1])
    if spec.get("refresh_token"):
        next_request = refreshing(spec["url"], spec["refresh_token"])
    elif spec.get("numbered"):
        next_request = numbered(
            Request(spec.get("method", "GET"), spec["url"], spec.get("headers", {})),
            spec.get("body", ""),
        )
    else:
        request = Request(
            spec.get("method", "GET"),
            spec["url"],
            spec.get("headers", {}),
            spec.get("body", "").encode(),
        )
        next_request = rotate([request])
    seconds = float(spec["seconds"])
    samples = asyncio.run(generate(next_request, connections=spec["connections"], seconds=seconds))
    print(json.dumps(summarize(samples, seconds)))


if __name__ == "__main__":
    main()
