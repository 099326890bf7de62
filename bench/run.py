"""``make bench``: the kit against a minimal baseline app, side by side, in one run.

Both servers run on loopback (one uvicorn worker each, uvloop/httptools; the kit in production
mode with JSON access logs) against a scratch PostgreSQL database and Redis taken from
``.test.env``. Load comes from wrk in a separate process. Runs are interleaved kit/baseline/
kit/baseline and the median is kept. Prints a Markdown table and writes bench/results/latest.json.
"""

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

from app.auth.config import AuthConfig
from app.auth.services.passwords import PasswordHasher
from scripts.local_services import free_port, scratch_database, test_env

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
PASSWORD = "bench-password-1"
SECRET = "bench-secret-key-that-is-long-enough-0123456789abcdef"

LUA_REPORT = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "errors": %d, "non2xx": %d, "p50_ms": %f, "p99_ms": %f}\\n',
    summary.requests, summary.duration / 1e6, errors, summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def seed_users(url: str, upto: int, password_hash: str) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(dsn) as connection:
        start = connection.execute("SELECT coalesce(max(id), 0) FROM users").fetchone()[0] + 1
        if start <= upto:
            connection.execute(
                "INSERT INTO users (email, username, password_hash, status, is_admin, created_at,"
                " updated_at) SELECT 'user' || g || '@example.com', 'user_' || g, %s, 'active',"
                " false, now() - g * interval '1 second', now()"
                " FROM generate_series(%s::int, %s::int) g",
                (password_hash, start, upto),
            )
        connection.execute("ANALYZE users")


@contextlib.contextmanager
def server(command: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"server did not start, see {log}")
                time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


def wrk(
    url: str, *, connections: int, script: str = "", seconds: int = SECONDS
) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script + LUA_REPORT)
    threads = min(2, connections)
    result = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            handle.name,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    os.unlink(handle.name)
    line = next(text for text in result.stdout.splitlines() if text.startswith("{"))
    report: dict[str, float] = json.loads(line)
    report["rps"] = report["requests"] / report["seconds"]
    return report


def headers_script(headers: dict[str, str]) -> str:
    return "".join(f'wrk.headers["{key}"] = "{value}"\n' for key, value in headers.items())


def login_script(login: str) -> str:
    return (
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
        f'wrk.body = "username={login}&password={PASSWORD}"\n'
    )


def refresh_script(token: str) -> str:
    return (
        f'local token = "{token}"\n'
        "request = function()\n"
        '  return wrk.format("POST", nil, {["Content-Type"] = "application/json"},\n'
        "    '{\"refresh_token\": \"' .. token .. '\"}')\n"
        "end\n"
        "response = function(status, headers, body)\n"
        '  local fresh = body:match(\'"refresh_token":"([^"]+)"\')\n'
        "  if fresh then token = fresh end\n"
        "end\n"
    )


def interleaved(kit: str, base: str | None, **options: object) -> dict[str, dict[str, float]]:
    runs: dict[str, list[dict[str, float]]] = {"kit": [], "baseline": []}
    for _ in range(2):
        runs["kit"].append(wrk(kit, **options))  # type: ignore[arg-type]
        if base is not None:
            runs["baseline"].append(wrk(base, **options))  # type: ignore[arg-type]
    return {
        name: {key: statistics.median(run[key] for run in values) for key in values[0]}
        for name, values in runs.items()
        if values
    }


def production_hasher() -> "PasswordHasher":
    return PasswordHasher(AuthConfig(_env_file=None))  # type: ignore[call-arg]


def hash_rates() -> tuple[float, float]:
    """Argon2 verifies per second on two threads, and one verify's time in ms (kit settings)."""
    hasher = production_hasher()
    stored = hasher._hash.hash(PASSWORD)
    started = time.perf_counter()
    hasher._verify(PASSWORD, stored)
    single_ms = (time.perf_counter() - started) * 1000
    count = [0, 0]
    stop = time.monotonic() + 3

    def spin(slot: int) -> None:
        while time.monotonic() < stop:
            hasher._verify(PASSWORD, stored)
            count[slot] += 1

    threads = [threading.Thread(target=spin, args=(slot,)) for slot in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(count) / 3, single_ms


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk (Debian/Ubuntu) or brew install wrk")
    settings = test_env()
    database = scratch_database(os.environ.get("DATABASE_URL", settings["DATABASE_URL"]), "bench")
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": SECRET,
        "DATABASE_URL": database,
        "REDIS_URL": settings["REDIS_URL"].rsplit("/", 1)[0] + "/13",
        "SMTP_HOST": "",
        "RATE_LIMITER_ENABLED": "false",
        "QUEUE_NAME": "bench-tasks",
    }
    for key in (
        "PASSWORD_HASH_TIME_COST",
        "PASSWORD_HASH_MEMORY_COST",
        "PASSWORD_HASH_PARALLELISM",
    ):
        env.pop(key, None)
    subprocess.run(
        [PYTHON, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    password_hash = production_hasher()._hash.hash(PASSWORD)
    seed_users(database, 1_000, password_hash)
    logs = ROOT / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    kit_cmd = [PYTHON, "-m", "app", "serve", "--no-migrate", "--port"]
    base_cmd = [
        PYTHON,
        "-m",
        "uvicorn",
        "bench.baseline:app",
        "--no-access-log",
        "--log-level",
        "warning",
        "--port",
    ]
    kit_port, base_port = free_port(), free_port()
    results: dict[str, object] = {}
    with (
        server([*kit_cmd, str(kit_port)], env, kit_port, logs / "kit.log") as kit,
        server([*base_cmd, str(base_port)], env, base_port, logs / "baseline.log") as base,
    ):
        tokens = httpx.post(
            f"{kit}/api/v1/auth/login", data={"username": "user_1", "password": PASSWORD}
        ).json()
        auth = headers_script({"Authorization": f"Bearer {tokens['access_token']}"})
        results["health"] = interleaved(f"{kit}/health", f"{base}/health", connections=32)
        results["profile"] = interleaved(
            f"{kit}/api/v1/profile", f"{base}/profile", connections=32, script=auth
        )
        results["user_by_id"] = interleaved(
            f"{kit}/api/v1/users/500", f"{base}/profile", connections=32, script=auth
        )
        list_query = "page=1&per_page=20&sort=id:desc"
        results["users_1k"] = interleaved(
            f"{kit}/api/v1/users?{list_query}",
            f"{base}/users?page=1&per_page=20",
            connections=32,
            script=auth,
        )
        seed_users(database, 100_000, password_hash)
        results["users_100k"] = interleaved(
            f"{kit}/api/v1/users?{list_query}",
            f"{base}/users?page=1&per_page=20",
            connections=32,
            script=auth,
        )
        results["refresh"] = {
            "kit": wrk(
                f"{kit}/api/v1/auth/refresh-token",
                connections=1,
                script=refresh_script(tokens["refresh_token"]),
            )
        }
        results["login_single"] = {
            "kit": wrk(f"{kit}/api/v1/auth/login", connections=1, script=login_script("user_2"))
        }
        flood: dict[str, dict[str, float]] = {}
        flooding = threading.Thread(
            target=lambda: flood.setdefault(
                "kit",
                wrk(f"{kit}/api/v1/auth/login", connections=32, script=login_script("user_3")),
            )
        )
        flooding.start()
        time.sleep(0.5)
        health_under_flood = wrk(f"{kit}/health", connections=1, seconds=max(1, SECONDS - 1))
        flooding.join()
        results["login_32"] = flood
        results["health_during_login_flood"] = {"kit": health_under_flood}
    hash_rate, verify_ms = hash_rates()
    results["hashing"] = {"verifies_per_second_2_threads": hash_rate, "one_verify_ms": verify_ms}
    report(results)


def report(results: dict[str, object]) -> None:
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2))
    print("| scenario | kit req/s | p50 ms | p99 ms | baseline req/s | ratio | errors/non-2xx |")
    print("|---|---|---|---|---|---|---|")
    for name, value in results.items():
        if name == "hashing":
            continue
        kit = value["kit"]  # type: ignore[index]
        base = value.get("baseline")  # type: ignore[union-attr]
        ratio = f"{kit['rps'] / base['rps']:.2f}" if base else "-"
        base_rps = f"{base['rps']:.0f}" if base else "-"
        print(
            f"| {name} | {kit['rps']:.0f} | {kit['p50_ms']:.2f} | {kit['p99_ms']:.2f} | {base_rps} "
            f"| {ratio} | {kit['errors']:.0f}/{kit['non2xx']:.0f} |"
        )
    hashing = results["hashing"]
    print(
        f"\nArgon2 verifies/s on 2 threads: {hashing['verifies_per_second_2_threads']:.1f}; "  # type: ignore[index]
        f"one verify: {hashing['one_verify_ms']:.1f} ms"
    )  # type: ignore[index]


if __name__ == "__main__":
    main()
