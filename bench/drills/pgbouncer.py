"""Drill: four API processes and a queue worker through one PgBouncer in transaction mode.

Starts Debian's ``pgbouncer`` (installed first when missing, as root with apt) on a free port
in front of a scratch database, with a server pool of ``DRILL_SERVER_POOL`` (20) connections
shared by every process (each may hold DATABASE_POOL_SIZE + DATABASE_MAX_OVERFLOW client
connections). The kit runs with ``DATABASE_PREPARE_THRESHOLD=0``: PgBouncer 1.18 cannot follow
prepared statements from one server connection to another. PgBouncer drops libpq's
``options``, so the server-side timeouts are set by its ``connect_query`` instead.

Then the mixed workload of ``mixed_load`` (reads and a write) from 500 connections for 60 s,
spread over the four processes. Passes with no transport error, only 200s, every process's
memory steady over the second half, and the worker still running.

Run: ``python -m bench.drills.pgbouncer`` (PostgreSQL and Redis as in ``.test.env``).
"""

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

from bench.drills.common import Checks, check_memory_steady, rss_sampler, worker_command
from bench.drills.mixed_load import CONNECTIONS, SECONDS, SIGNED_IN, USERS, workload
from bench.harness import (
    LOGS,
    PASSWORD,
    Process,
    debian_tool,
    kit_env,
    kit_server,
    login,
    production_hasher,
    running,
    seed_users,
)
from bench.load import generate, rotate, statuses, summarize
from scripts.local_services import free_port

API_PROCESSES = 4
SERVER_POOL = int(os.environ.get("DRILL_SERVER_POOL", "20"))
# DRILL_PREPARE_THRESHOLD=5 (psycopg's default) shows what the setting prevents.
THRESHOLD = os.environ.get("DRILL_PREPARE_THRESHOLD", "0")


@contextlib.contextmanager
def pgbouncer(database_url: str, statement_ms: int, idle_ms: int) -> Iterator[str]:
    """PgBouncer in transaction mode in front of ``database_url``; the URL through it."""
    binary = debian_tool("pgbouncer", "pgbouncer")
    url = make_url(database_url)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="drill-pgbouncer-") as directory:
        folder = Path(directory)
        as_root = os.geteuid() == 0  # PgBouncer refuses to run as root: it runs as postgres
        (folder / "users.txt").write_text(f'"{url.username}" ""\n')
        setup = f"SET statement_timeout = {statement_ms}; "
        setup += f"SET idle_in_transaction_session_timeout = {idle_ms}"
        (folder / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"{url.database} = host={url.host} port={url.port or 5432} dbname={url.database}"
            f" connect_query='{setup}'\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {folder / 'users.txt'}\n"
            f"pool_mode = transaction\ndefault_pool_size = {SERVER_POOL}\n"
            "max_client_conn = 2000\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
            f"logfile = {folder / 'pgbouncer.log'}\n"
        )
        if as_root:
            for path in (folder, *folder.iterdir()):
                shutil.chown(path, "postgres")
        user = ["-u", "postgres"] if as_root else []
        process = subprocess.Popen(
            [binary, *user, str(folder / "pgbouncer.ini")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while not _answers(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"pgbouncer did not start: {folder / 'pgbouncer.log'}")
                time.sleep(0.1)
            yield url.set(host="127.0.0.1", port=port).render_as_string(False)
        finally:
            process.terminate()
            process.wait(timeout=10)


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def main() -> None:
    checks = Checks("through PgBouncer")
    direct = kit_env("drill_pgbouncer", redis_db=12)
    seed_users(direct["DATABASE_URL"], USERS, production_hasher()._hash.hash(PASSWORD))
    statement_ms = 5_000
    with (
        pgbouncer(direct["DATABASE_URL"], statement_ms, 10_000) as pooled_url,
        contextlib.ExitStack() as stack,
    ):
        env = {**direct, "DATABASE_URL": pooled_url, "DATABASE_PREPARE_THRESHOLD": THRESHOLD}
        apis: list[Process] = [
            stack.enter_context(kit_server(env, f"drill_pgbouncer_{number}.log"))
            for number in range(API_PROCESSES)
        ]
        worker = stack.enter_context(
            running(worker_command(), env, LOGS / "drill_pgbouncer_worker.log")
        )
        tokens = [login(apis[0].base, f"user_{n}")["access_token"] for n in range(1, SIGNED_IN + 1)]
        requests = [request for api in apis for request in workload(api.base, tokens)]
        samplers = [rss_sampler(api) for api in apis]
        print(
            f"{API_PROCESSES} API processes and a worker through PgBouncer"
            f" ({SERVER_POOL} server connections); {CONNECTIONS} connections for {SECONDS:.0f} s"
        )
        samples = asyncio.run(
            generate(
                rotate(requests), connections=CONNECTIONS, seconds=SECONDS, request_timeout=120
            )
        )
        for _, stop in samplers:
            stop()
        worker_alive = worker.poll() is None

    summary = summarize(samples, SECONDS)
    print(
        f"  {summary['requests']:.0f} requests, {summary['rps']:.0f}/s,"
        f" p50 {summary['p50_ms']:.0f} ms, p99 {summary['p99_ms']:.0f} ms;"
        f" statuses {statuses(samples)}"
    )
    checks.check(summary["errors"] == 0, f"no transport errors ({summary['errors']:.0f})")
    checks.check(summary["non2xx"] == 0, f"every response 200 ({summary['non2xx']:.0f} others)")
    for number, (rss, _) in enumerate(samplers):
        check_memory_steady(checks, rss, f"API process {number + 1}")
    checks.check(worker_alive, "the queue worker ran throughout")
    checks.verdict()


if __name__ == "__main__":
    main()
