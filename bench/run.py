"""``make bench``: the kit against a minimal baseline app, side by side, in one run.

Both servers run on loopback (one uvicorn worker each, uvloop/httptools; the kit in production
mode with JSON access logs) against a scratch PostgreSQL database and Redis taken from
``.test.env``. Load comes from wrk in a separate process (``bench.load`` in Python when wrk is
missing). Runs are interleaved kit/baseline/kit/baseline and the median is kept. Prints a
Markdown table and writes bench/results/latest.json.
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
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from redis import Redis

from bench.harness import (
    LOGS,
    PASSWORD,
    PYTHON,
    ROOT,
    debian_tool,
    kit_env,
    kit_server,
    login,
    production_hasher,
    seed_users,
    server,
)

SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
WRK = shutil.which("wrk")

# scenario -> "kit" / "baseline" -> requests, rps, p50_ms, p99_ms, errors, non2xx
Results = dict[str, dict[str, dict[str, float]]]

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


@dataclass(frozen=True)
class Load:
    """One endpoint under load; ``refresh_token`` makes every request use the last one issued."""

    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    refresh_token: str = ""
    # "{n}" in the body becomes a number new for each request (a registration per request).
    numbered: bool = False

    def at(self, url: str) -> "Load":
        return Load(url, self.method, self.headers, self.body, self.refresh_token, self.numbered)


def measure(
    load: Load, *, connections: int, seconds: int = SECONDS, cpu: int | None = None
) -> dict[str, float]:
    """Put ``load`` under ``connections`` for ``seconds`` from another process (on CPU ``cpu``
    only, if given); its report."""
    if WRK is None or load.numbered:  # a body per request: the Python generator
        spec = {**load.__dict__, "connections": connections, "seconds": seconds}
        command = [PYTHON, "-m", "bench.load", json.dumps(spec)]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
        return json.loads(result.stdout)  # type: ignore[no-any-return]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(lua_script(load) + LUA_REPORT)
    threads = min(1 if cpu is not None else 2, connections)
    pinned = ["taskset", "-c", str(cpu)] if cpu is not None else []
    command = [
        *pinned,
        WRK,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        # A request wrk gives up on still costs the server its work (a login: its hash).
        "--timeout",
        "30s",
        "-s",
        handle.name,
        load.url,
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=True)
    finally:
        os.unlink(handle.name)
    line = next(text for text in result.stdout.splitlines() if text.startswith("{"))
    report: dict[str, float] = json.loads(line)
    report["rps"] = report["requests"] / report["seconds"]
    return report


def lua_script(load: Load) -> str:
    if load.refresh_token:
        return (
            f'local token = "{load.refresh_token}"\n'
            "request = function()\n"
            '  return wrk.format("POST", nil, {["Content-Type"] = "application/json"},\n'
            "    '{\"refresh_token\": \"' .. token .. '\"}')\n"
            "end\n"
            "response = function(status, headers, body)\n"
            '  local fresh = body:match(\'"refresh_token":"([^"]+)"\')\n'
            "  if fresh then token = fresh end\n"
            "end\n"
        )
    # JSON string literals are valid Lua strings (quotes and backslashes escaped alike).
    lines = [f"wrk.method = {json.dumps(load.method)}"]
    lines += [
        f"wrk.headers[{json.dumps(key)}] = {json.dumps(value)}"
        for key, value in load.headers.items()
    ]
    if load.body:
        lines.append(f"wrk.body = {json.dumps(load.body)}")
    return "\n".join(lines) + "\n"


def login_load(url: str, username: str) -> Load:
    return Load(
        url,
        "POST",
        {"Content-Type": "application/x-www-form-urlencoded"},
        f"username={username}&password={PASSWORD}",
    )


def interleaved(kit: Load, base: Load | None, connections: int = 32) -> dict[str, dict[str, float]]:
    loads = {"kit": kit} if base is None else {"kit": kit, "baseline": base}
    return rounds(loads, connections)


def rounds(loads: dict[str, Load], connections: int = 32) -> dict[str, dict[str, float]]:
    """Each load twice, in turn (a, b, a, b), and the median of each one's runs."""
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in loads}
    for _ in range(2):
        for name, load in loads.items():
            runs[name].append(measure(load, connections=connections))
    return {name: median_report(values) for name, values in runs.items()}


def median_report(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over ``runs``."""
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


class Hashing:
    """Argon2 at the kit's production settings, measured in this process while the servers
    idle: the time of one verify and how many verifies two threads do per second."""

    def __init__(self) -> None:
        self.hasher = production_hasher()
        self.stored = self.hasher._hash.hash(PASSWORD)
        self.verify_ms: list[float] = []
        self.rates: list[float] = []

    def time_verifies(self, count: int = 10) -> None:
        for _ in range(count):
            started = time.perf_counter()
            self.hasher._verify(PASSWORD, self.stored)
            self.verify_ms.append((time.perf_counter() - started) * 1000)

    def time_rate(self, seconds: float = 3.0) -> None:
        count = [0, 0]
        stop = time.monotonic() + seconds

        def spin(slot: int) -> None:
            while time.monotonic() < stop:
                self.hasher._verify(PASSWORD, self.stored)
                count[slot] += 1

        threads = [threading.Thread(target=spin, args=(slot,)) for slot in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.rates.append(sum(count) / seconds)

    def summary(self) -> tuple[float, float]:
        """Verifies per second (mean of the runs), one verify's median time in ms."""
        return statistics.mean(self.rates), statistics.median(self.verify_ms)


# A password the registration policy accepts (the seeded users' is only ever hashed).
NEW_PASSWORD = "Quiet-Harbour-Lantern-4817"


def write_loads(kit: str) -> dict[str, Load]:
    """Requests that queue work: a registration (a user and its welcome mail) and a password
    reset request (a task)."""
    json_type = {"Content-Type": "application/json"}
    return {
        "register": Load(
            f"{kit}/api/v1/auth/register",
            "POST",
            json_type,
            json.dumps(
                {"email": "new{n}@example.com", "username": "new{n}", "password": NEW_PASSWORD}
            ),
            numbered=True,
        ),
        "restore_password": Load(
            f"{kit}/api/v1/auth/restore-password",
            "POST",
            json_type,
            json.dumps({"email": "user7@example.com"}),
        ),
    }


def writes() -> None:
    """``python -m bench.run writes``: only the requests that queue work, 32 connections each,
    three runs, the median kept."""
    env = kit_env("bench_writes", redis_db=13)
    seed_users(env["DATABASE_URL"], 100, production_hasher()._hash.hash(PASSWORD))
    with kit_server(env, "bench_writes.log") as kit:
        for name, load in write_loads(kit.base).items():
            runs = [measure(load, connections=32) for _ in range(3)]
            best = sorted(runs, key=lambda run: run["rps"])[1]
            print(
                f"| {name} | {best['rps']:.1f} | {best['p50_ms']:.1f} | {best['p99_ms']:.1f} "
                f"| {best['errors']:.0f}/{best['non2xx']:.0f} |"
            )


class SpanSink:
    """An OTLP/HTTP endpoint that accepts every export and keeps nothing (a collector that
    keeps up), so tracing is measured without a collector's own cost."""

    def __init__(self) -> None:
        class Accept(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Accept)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def telemetry_costs(env: dict[str, str]) -> Results:
    """``/health`` and ``/profile`` of the kit with metrics on, with tracing on (every trace,
    then one in ten sampled), each against the same kit with both off, interleaved: the cost
    of turning each on."""
    sink = SpanSink()
    variants = {
        "off": env,
        "metrics": {**env, "METRICS_ENABLED": "true"},
        "tracing": {**env, "OTEL_EXPORTER_OTLP_ENDPOINT": sink.url},
        "tracing 10%": {
            **env,
            "OTEL_EXPORTER_OTLP_ENDPOINT": sink.url,
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.1",
        },
    }
    results: Results = {}
    with contextlib.ExitStack() as stack:
        bases = {
            name: stack.enter_context(kit_server(variant, f"kit_{name.replace(' ', '_')}.log")).base
            for name, variant in variants.items()
        }
        auth = {"Authorization": f"Bearer {login(bases['off'], 'user_1')['access_token']}"}
        for path, headers in (("/health", {}), ("/api/v1/profile", auth)):
            medians = rounds(
                {name: Load(f"{base}{path}", headers=headers) for name, base in bases.items()}
            )
            for name in ("metrics", "tracing", "tracing 10%"):
                results[f"{path} {name} on"] = {"kit": medians[name], "baseline": medians["off"]}
    sink.server.shutdown()
    return results


def telemetry() -> None:
    """``python -m bench.run telemetry``: only the cost of metrics and tracing."""
    env = kit_env("bench_telemetry", redis_db=12)
    seed_users(env["DATABASE_URL"], 10, production_hasher()._hash.hash(PASSWORD))
    print_table(telemetry_costs(env))


BASELINE = [
    PYTHON, "-m", "uvicorn", "bench.baseline:app", "--no-access-log", "--log-level", "warning",
    "--port",
]  # fmt: skip


def ratio_scenarios(kit: str, base: str, auth: dict[str, str]) -> Results:
    """The routes measured against the baseline, 1,000 users in the table."""
    results: Results = {}
    results["health"] = interleaved(Load(f"{kit}/health"), Load(f"{base}/health"))
    profile = Load(f"{kit}/api/v1/profile", headers=auth)
    results["profile"] = interleaved(profile, profile.at(f"{base}/profile"))
    results["user_by_id"] = interleaved(
        profile.at(f"{kit}/api/v1/users/500"), profile.at(f"{base}/profile")
    )
    users_page = profile.at(f"{kit}/api/v1/users?page=1&per_page=20&sort=id:desc")
    results["users_1k"] = interleaved(users_page, profile.at(f"{base}/users?page=1&per_page=20"))
    return results


def ratios() -> None:
    """``python -m bench.run ratios``: only the four routes measured against the baseline."""
    env = kit_env("bench_ratios", redis_db=12)
    seed_users(env["DATABASE_URL"], 1_000, production_hasher()._hash.hash(PASSWORD))
    with (
        kit_server(env, "kit_ratios.log") as kit_process,
        server(BASELINE, env, LOGS / "baseline_ratios.log") as base_process,
    ):
        tokens = login(kit_process.base, "user_1")
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        print_table(ratio_scenarios(kit_process.base, base_process.base, auth))


def scaling() -> None:
    """``python -m bench.run scaling``: one API process against ``serve --workers 2`` on this
    machine, wrk pinned to the last CPU; twice each, in turn, medians."""
    global WRK
    WRK = debian_tool("wrk", "wrk")  # one thread pinned to a CPU: the Python generator cannot
    env = kit_env("bench_scaling", redis_db=12)
    seed_users(env["DATABASE_URL"], 1_000, production_hasher()._hash.hash(PASSWORD))
    cpu = (os.cpu_count() or 1) - 1
    runs: dict[str, list[dict[str, float]]] = {}
    for _ in range(2):
        for workers in (1, 2):
            with kit_server(env, f"kit_scaling_{workers}.log", workers=workers) as kit:
                auth = {"Authorization": f"Bearer {login(kit.base, 'user_1')['access_token']}"}
                for path, headers in (("/health", {}), ("/api/v1/profile", auth)):
                    report = measure(
                        Load(f"{kit.base}{path}", headers=headers), connections=64, cpu=cpu
                    )
                    runs.setdefault(f"{path} {workers}", []).append(report)
    results: Results = {}
    for path in ("/health", "/api/v1/profile"):
        one, two = (median_report(runs[f"{path} {n}"]) for n in (1, 2))
        results[f"{path}: 2 workers on (vs 1)"] = {"kit": two, "baseline": one}
    print_table(results)


def main() -> None:
    if sys.argv[1:] == ["writes"]:
        writes()
        return
    if sys.argv[1:] == ["telemetry"]:
        telemetry()
        return
    if sys.argv[1:] == ["ratios"]:
        ratios()
        return
    if sys.argv[1:] == ["scaling"]:
        scaling()
        return
    if WRK is None:
        print("wrk not found (apt-get install wrk): using the Python load generator, bench.load")
    env = kit_env("bench", redis_db=13)
    database = env["DATABASE_URL"]
    password_hash = production_hasher()._hash.hash(PASSWORD)
    seed_users(database, 1_000, password_hash)
    results: Results = {}
    with (
        kit_server(env) as kit_process,
        server(BASELINE, env, LOGS / "baseline.log") as base_process,
    ):
        kit, base = kit_process.base, base_process.base
        tokens = login(kit, "user_1")
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        results |= ratio_scenarios(kit, base, auth)
        users_page = Load(f"{kit}/api/v1/users?page=1&per_page=20&sort=id:desc", headers=auth)
        base_page = users_page.at(f"{base}/users?page=1&per_page=20")
        seed_users(database, 100_000, password_hash)
        # Rows written behind the kit's back: drop its cached totals, then check the page's.
        Redis.from_url(env["REDIS_URL"]).flushdb()
        total = httpx.get(users_page.url, headers=auth, timeout=30).json()["total"]
        if total != 100_000:
            raise SystemExit(f"the users page reports {total} users, not 100000")
        results["users_100k"] = interleaved(users_page, base_page)
        refresh = Load(f"{kit}/api/v1/auth/refresh-token", refresh_token=tokens["refresh_token"])
        results["refresh"] = {"kit": measure(refresh, connections=1)}
        login_url = f"{kit}/api/v1/auth/login"
        # Logins are measured against hashing timed just before and just after them.
        hashing = Hashing()
        hashing.time_verifies()
        results["login_single"] = {"kit": measure(login_load(login_url, "user_2"), connections=1)}
        hashing.time_verifies()
        hashing.time_rate()
        results["login_32"] = {"kit": measure(login_load(login_url, "user_3"), connections=32)}
        hashing.time_rate()
        flood: dict[str, dict[str, float]] = {}
        flooding = threading.Thread(
            target=lambda: flood.setdefault(
                "kit", measure(login_load(login_url, "user_4"), connections=32)
            )
        )
        flooding.start()
        time.sleep(0.5)
        health_under_flood = measure(
            Load(f"{kit}/health"), connections=1, seconds=max(1, SECONDS - 1)
        )
        flooding.join()
        results["health_during_login_flood"] = {"kit": health_under_flood}
        for name, load in write_loads(kit).items():
            results[name] = {"kit": measure(load, connections=32)}
    # Each against the kit with both off ("baseline" in these rows).
    results |= telemetry_costs(env)
    report(results, *hashing.summary())


def targets(results: Results, hash_rate: float, verify_ms: float) -> list[tuple[str, str, bool]]:
    """Each target of the kit: what it asks, what was measured, whether it is met."""

    def ratio(name: str) -> float:
        return results[name]["kit"]["rps"] / results[name]["baseline"]["rps"]

    scale = results["users_100k"]["kit"]["rps"] / results["users_1k"]["kit"]["rps"]
    login_share = results["login_32"]["kit"]["rps"] / hash_rate
    login_p50 = results["login_single"]["kit"]["p50_ms"]
    flood_p99 = results["health_during_login_flood"]["kit"]["p99_ms"]
    return [
        ("/health ≥ 0.8 x baseline", f"{ratio('health'):.2f}", ratio("health") >= 0.8),
        ("/profile ≥ 0.9 x baseline", f"{ratio('profile'):.2f}", ratio("profile") >= 0.9),
        ("users page (1k) ≥ 0.6 x baseline", f"{ratio('users_1k'):.2f}", ratio("users_1k") >= 0.6),
        ("users page 100k ≥ 0.5 x 1k", f"{scale:.2f}", scale >= 0.5),
        ("login (32 conn.) ≥ 0.9 x hash rate", f"{login_share:.2f}", login_share >= 0.9),
        (
            "login p50 (1 conn.) ≤ one verify + 5 ms",
            f"{login_p50:.1f} ms vs {verify_ms:.1f} ms",
            login_p50 <= verify_ms + 5,
        ),
        ("/health p99 during a login flood < 25 ms", f"{flood_p99:.1f} ms", flood_p99 < 25),
    ]


def report(results: Results, hash_rate: float, verify_ms: float) -> None:
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    hashing = {"verifies_per_second_2_threads": hash_rate, "one_verify_ms": verify_ms}
    (out / "latest.json").write_text(json.dumps({**results, "hashing": hashing}, indent=2))
    print_table(results)
    print(f"\nArgon2 verifies/s on 2 threads: {hash_rate:.1f}; one verify: {verify_ms:.1f} ms\n")
    print("| target | measured | met |\n|---|---|---|")
    for target, measured, met in targets(results, hash_rate, verify_ms):
        print(f"| {target} | {measured} | {'yes' if met else '**no**'} |")


def print_table(results: Results) -> None:
    """Rows named ``... on`` compare the kit with a feature on ("kit") and off ("baseline")."""
    print("| scenario | kit req/s | p50 ms | p99 ms | baseline req/s | ratio | errors/non-2xx |")
    print("|---|---|---|---|---|---|---|")
    for name, value in results.items():
        kit = value["kit"]
        base = value.get("baseline")
        ratio = f"{kit['rps'] / base['rps']:.2f}" if base else "-"
        base_rps = f"{base['rps']:.0f}" if base else "-"
        print(
            f"| {name} | {kit['rps']:.0f} | {kit['p50_ms']:.2f} | {kit['p99_ms']:.2f} | {base_rps} "
            f"| {ratio} | {kit['errors']:.0f}/{kit['non2xx']:.0f} |"
        )


if __name__ == "__main__":
    main()
