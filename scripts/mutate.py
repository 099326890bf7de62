"""Mutation testing of the security-critical modules (``make mutate``).

For each target module, mutmut 2.x (its own virtualenv, ``scripts/mutation/requirements.txt``)
writes one mutant at a time into a copy of the project under ``var/mutate/`` and runs the
target's tests in a fresh process, on the embedded backends (SQLite, no Redis, no SMTP). A
mutant is *killed* when the tests fail (or time out: a mutant that hangs the suite is noticed
too), *survives* when they pass. Mutants listed in ``scripts/mutation/equivalent.toml`` (they
cannot change behaviour) are left out of the score. Prints a score per module against the
target and every surviving mutant as a diff; exits 1 when a module is under the target.

A second run of a module keeps mutmut's cache (``var/mutate/<module>-<backend>``): killed
mutants stay killed, the others are tested again once the tests change; ``--fresh`` tests every
mutant again (the weekly workflow starts from a clean checkout).

Usage: ``python -m scripts.mutate [--jobs N] [--fresh] [module ...]`` (modules as in
``TARGETS``, e.g. ``app/auth/services/tokens.py``; default: all).
"""

import argparse
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import threading
import tomllib
import venv
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "scripts" / "mutation"
WORK = ROOT / "var" / "mutate"
TARGET_SCORE = 0.90

AUTH_TESTS = "tests/auth/integration/routes/v1"
# The published contract (descriptions, examples, formats, defaults) as openapi.json records it.
OPENAPI_TEST = "tests/core/unit/test_openapi_names.py::test_the_committed_document_is_the_codes"
# Each module and the tests that speak for it (kept small: every mutant reruns them).
TARGETS: dict[str, list[str]] = {
    "app/auth/services/tokens.py": [
        "tests/auth/unit/services/test_tokens.py",
        f"{AUTH_TESTS}/test_access_tokens.py",
        "tests/auth/integration/test_hostile_input.py",
        f"{AUTH_TESTS}/test_two_factor.py",
    ],
    "app/auth/services/auth.py": [
        f"{AUTH_TESTS}/test_auth.py",
        f"{AUTH_TESTS}/test_sessions.py",
        f"{AUTH_TESTS}/test_two_factor.py",
        "tests/auth/integration/test_sessions_end.py",
        "tests/auth/integration/test_concurrency.py",
        "tests/auth/integration/test_guessing.py",
    ],
    "app/auth/services/two_factor.py": [
        "tests/auth/unit/services/test_two_factor.py",
        f"{AUTH_TESTS}/test_two_factor.py",
    ],
    "app/auth/services/verification.py": [
        f"{AUTH_TESTS}/test_email_verification.py",
        f"{AUTH_TESTS}/test_profile.py",
        "tests/auth/integration/test_identity.py",
    ],
    "app/auth/services/sessions.py": [f"{AUTH_TESTS}/test_sessions.py"],
    "app/auth/services/user.py": [
        f"{AUTH_TESTS}/test_profile.py",
        f"{AUTH_TESTS}/test_users.py",
        f"{AUTH_TESTS}/test_sessions.py",
        f"{AUTH_TESTS}/test_auth.py",
        f"{AUTH_TESTS}/test_email_verification.py",
        "tests/auth/integration/test_identity.py",
        "tests/auth/integration/test_guessing.py",
    ],
    "app/auth/services/passwords.py": [
        "tests/auth/unit/services/test_passwords.py",
        "tests/auth/integration/test_guessing.py",
        "tests/auth/integration/test_identity.py",
    ],
    "app/auth/deps.py": [
        OPENAPI_TEST,
        "tests/auth/integration/test_login_form.py",
        f"{AUTH_TESTS}/test_access_tokens.py",
        f"{AUTH_TESTS}/test_email_verification.py",
        f"{AUTH_TESTS}/test_profile.py",
        f"{AUTH_TESTS}/test_two_factor.py",
        "tests/auth/integration/test_front_door.py",
        "tests/auth/integration/test_sessions_end.py",
        f"{AUTH_TESTS}/test_sessions.py",
    ],
    "app/auth/policies/users.py": [f"{AUTH_TESTS}/test_users.py", f"{AUTH_TESTS}/test_sessions.py"],
    "app/core/api/params.py": [
        OPENAPI_TEST,
        "tests/core/integration/test_list_params.py",
        f"{AUTH_TESTS}/test_users.py",
    ],
    "app/core/db/repository.py": [
        "tests/core/unit/test_repository.py",
        "tests/core/integration/test_list_params.py",
        "tests/auth/unit/repositories",
    ],
    "app/core/api/limiter.py": [
        "tests/core/integration/services/test_limiter.py",
        "tests/core/integration/test_client_address.py",
    ],
    "app/core/services/ratelimit.py": [
        "tests/core/integration/services/test_attempt_limiter.py",
        "tests/core/integration/services/test_limiter.py",
        "tests/auth/integration/test_guessing.py",
        f"{AUTH_TESTS}/test_two_factor.py",
    ],
}

EMBEDDED = {
    "TEST_DATABASE_URL": "sqlite+aiosqlite:///./var/mutate.db",
    "TEST_REDIS_URL": "",
    "TEST_SMTP_HOST": "",
}
# Modules with a Redis path run twice: on the embedded backends and with Redis (database 13).
WITH_REDIS = {
    **EMBEDDED,
    "TEST_REDIS_URL": os.environ.get("MUTATE_REDIS_URL", "redis://127.0.0.1:6379/13"),
}
# The Redis runs share that database (their tests flush it and fill limiters' buckets): one at
# a time, or one run's state fails or passes the other's tests.
REDIS_RUNS = threading.Lock()
BACKENDS: dict[str, dict[str, dict[str, str]]] = {
    "app/core/services/ratelimit.py": {"embedded": EMBEDDED, "redis": WITH_REDIS},
    "app/core/api/limiter.py": {"embedded": EMBEDDED, "redis": WITH_REDIS},
}

# mutmut's statuses (its cache's ``Mutant.status``); "suspicious" is a kill that took longer
# than the unmutated run.
KILLED, SURVIVED, TIMEOUT, SUSPICIOUS = "ok_killed", "bad_survived", "bad_timeout", "ok_suspicious"
UNTESTED = "untested"


def tool() -> Path:
    """mutmut's virtualenv, remade when its requirements change; its ``mutmut``."""
    requirements = HERE / "requirements.txt"
    home = WORK / "venv"
    stamp = home / "requirements.txt"
    if not stamp.exists() or stamp.read_text() != requirements.read_text():
        shutil.rmtree(home, ignore_errors=True)
        venv.create(home, with_pip=True)
        pip = [str(home / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "--require-hashes", "-r", str(requirements)], check=True)
        shutil.copy(requirements, stamp)
    return home / "bin" / "mutmut"


@dataclass(frozen=True)
class Equivalent:
    """An accepted equivalent mutant: its module, original and mutated line and, when the
    original line occurs more than once, a line ``near`` it (in ``mutmut show``'s context)."""

    module: str
    line: str
    mutant: str
    near: str = ""

    def matches(self, module: str, diff: str) -> bool:
        lines = diff.splitlines()
        removed = [line[1:].strip() for line in lines if line.startswith("-")]
        added = [line[1:].strip() for line in lines if line.startswith("+")]
        original = next((line for line in removed if not line.startswith("--")), "")
        mutated = next((line for line in added if not line.startswith("++")), "")
        context = {line[1:].strip() for line in lines if line.startswith(" ")}
        return (module, original, mutated) == (self.module, self.line, self.mutant) and (
            not self.near or self.near in context
        )


@dataclass
class Result:
    module: str
    killed: int = 0
    timeouts: int = 0
    equivalent: int = 0
    survivors: list[str] = field(default_factory=list)
    # Accepted equivalents of this module that no surviving mutant matched: out of date.
    unmatched: list[Equivalent] = field(default_factory=list)

    @property
    def counted(self) -> int:
        return self.killed + self.timeouts + len(self.survivors)

    @property
    def score(self) -> float:
        return (self.killed + self.timeouts) / self.counted if self.counted else 1.0


def equivalents() -> list[Equivalent]:
    listed = tomllib.loads((HERE / "equivalent.toml").read_text())
    return [
        Equivalent(
            entry["module"],
            entry["line"].strip(),
            entry["mutant"].strip(),
            entry.get("near", "").strip(),
        )
        for entry in listed.get("equivalent", [])
    ]


def copy_project(name: str, runner: str, *, fresh: bool) -> Path:
    """A fresh copy of the tracked and new files, where mutants may be written. mutmut's cache
    of an earlier run with the same tests is kept unless ``fresh``: mutmut then tests again
    only the mutants that were not killed (when the tests changed) and those of changed lines.
    """
    copy = WORK / name
    cache, stamp = copy / ".mutmut-cache", copy / ".mutate-runner"
    same_run = stamp.exists() and stamp.read_text() == runner
    kept = cache.read_bytes() if cache.exists() and same_run and not fresh else None
    shutil.rmtree(copy, ignore_errors=True)
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    for file_name in files:
        source = ROOT / file_name
        if source.is_file():
            target = copy / file_name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    if kept is not None:
        cache.write_bytes(kept)
    stamp.write_text(runner)
    return copy


def run_module(mutmut: Path, module: str, tests: list[str], *, fresh: bool) -> Result:
    """Every mutant of ``module`` on each of its backends: killed if any run kills it."""
    runs = [
        run_backend(mutmut, module, tests, backend, settings, fresh=fresh)
        for backend, settings in BACKENDS.get(module, {"embedded": EMBEDDED}).items()
    ]
    return collect(mutmut, module, runs)


def run_backend(
    mutmut: Path,
    module: str,
    tests: list[str],
    backend: str,
    settings: dict[str, str],
    *,
    fresh: bool,
) -> Path:
    python = ROOT / ".venv" / "bin" / "python"
    pytest = f"{python} -m pytest -x -q -p no:cacheprovider -m 'not slow' {' '.join(tests)}"
    # mutmut 2.x kills a mutant only on exit status 1; a mutant that breaks an import makes
    # pytest exit 2 or 4, which is a kill too.
    runner = f"sh -c {shlex.quote(pytest + ' || exit 1')}"
    name = re.sub(r"\W", "_", module)
    copy = copy_project(f"{name}-{backend}", runner, fresh=fresh)
    (copy / "var").mkdir(exist_ok=True)
    # TEST_<KEY> wins over .test.env (README, Testing): never the shared test database.
    env = {**os.environ, **settings, "COVERAGE_PROCESS_START": ""}
    command = [str(mutmut), "run", "--paths-to-mutate", module, "--runner", runner]
    command += ["--tests-dir", "tests", "--simple-output", "--no-progress", "--CI"]
    log = WORK / f"{copy.name}.log"
    shared = REDIS_RUNS if settings["TEST_REDIS_URL"] else nullcontext()
    with shared, log.open("w") as output:
        subprocess.run(command, cwd=copy, env=env, stdout=output, stderr=subprocess.STDOUT)
    if not (copy / ".mutmut-cache").exists():
        raise SystemExit(f"{module}: mutmut did not run; see {log}")
    if all(status == UNTESTED for _, status in statuses(copy).values()):
        # mutmut stops before the first mutant when the tests fail on the unmutated code.
        raise SystemExit(f"{module} ({backend}): no mutant was tested; see {log}")
    return copy


def statuses(copy: Path) -> dict[tuple[int, str, int], tuple[int, str]]:
    """Each mutant, by its line and index, with its id and status in this run."""
    with sqlite3.connect(copy / ".mutmut-cache") as db:
        rows = db.execute(
            'SELECT Mutant.id, Line.line_number, Line.line, Mutant."index", Mutant.status'
            " FROM Mutant JOIN Line ON Mutant.line = Line.id ORDER BY Mutant.id"
        ).fetchall()
    return {
        (number, text, index): (mutant_id, status)
        for mutant_id, number, text, index, status in rows
    }


def collect(mutmut: Path, module: str, runs: list[Path]) -> Result:
    result = Result(module)
    accepted = [entry for entry in equivalents() if entry.module == module]
    matched: set[Equivalent] = set()
    by_run = [statuses(copy) for copy in runs]
    for key, (mutant_id, status) in by_run[0].items():
        seen = [status, *(other[key][1] for other in by_run[1:] if key in other)]
        if KILLED in seen or SUSPICIOUS in seen:
            result.killed += 1
        elif TIMEOUT in seen:
            result.timeouts += 1
        elif SURVIVED in seen:
            diff = subprocess.run(
                [str(mutmut), "show", str(mutant_id)],
                cwd=runs[0],
                capture_output=True,
                text=True,
                check=False,
            ).stdout
            hits = {entry for entry in accepted if entry.matches(module, diff)}
            if hits:
                result.equivalent += 1
                matched |= hits
            else:
                result.survivors.append(diff.strip())
    result.unmatched = [entry for entry in accepted if entry not in matched]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", default=list(TARGETS))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--fresh", action="store_true", help="test every mutant again, not only the survivors"
    )
    arguments = parser.parse_args()
    unknown = set(arguments.modules) - set(TARGETS)
    if unknown:
        raise SystemExit(f"not a target: {sorted(unknown)}; targets: {sorted(TARGETS)}")
    WORK.mkdir(parents=True, exist_ok=True)
    mutmut = tool()
    with ThreadPoolExecutor(max_workers=arguments.jobs) as pool:
        results = list(
            pool.map(
                lambda module: run_module(mutmut, module, TARGETS[module], fresh=arguments.fresh),
                arguments.modules,
            )
        )

    for result in results:
        for diff in result.survivors:
            print(f"\nsurvived in {result.module}:\n{diff}")
        for entry in result.unmatched:
            print(
                f"\nequivalent.toml lists a mutant of {result.module} that no survivor matches"
                f" (killed now, or its line changed; remove the entry):\n"
                f"- {entry.line}\n+ {entry.mutant}"
            )
    print(f"\n{'module':<36} {'killed':>7} {'timeout':>7} {'survived':>8} {'equiv.':>6} score")
    for result in results:
        print(
            f"{result.module:<36} {result.killed:>7} {result.timeouts:>7} "
            f"{len(result.survivors):>8} {result.equivalent:>6} {result.score:6.1%}"
        )
    killed = sum(r.killed + r.timeouts for r in results)
    counted = sum(r.counted for r in results)
    print(f"{'all':<36} {killed}/{counted} = {killed / counted if counted else 1:.1%}")
    short = [result.module for result in results if result.score < TARGET_SCORE]
    if short:
        print(f"under the {TARGET_SCORE:.0%} target: {', '.join(short)}")
    return 1 if short else 0


if __name__ == "__main__":
    sys.exit(main())
