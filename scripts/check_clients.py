"""Generate API clients from the committed ``openapi.json`` and use them (``make check-clients``).

* TypeScript: ``@hey-api/openapi-ts`` (``clients/typescript``, versions in its
  ``package-lock.json``) writes a fetch client; ``tsc`` type-checks it with ``src/flow.ts``.
* Python: ``openapi-python-client`` (its own virtualenv under ``var/clients``, from the hashed
  ``clients/python/requirements.txt``: its pins clash with the kit's) writes ``kit_api_client``.
* Both clients' public names are checked for route paths, HTTP methods and generic leftovers.
* Both flows (register -> login -> profile -> a page of users -> a 422) run against
  ``python -m app serve`` on the embedded backends, with an admin made by ``create-admin``.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterable, Mapping
from pathlib import Path

from scripts.local_services import create_admin, serve

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "openapi.json"
TYPESCRIPT = ROOT / "clients" / "typescript"
PYTHON = ROOT / "clients" / "python"
WORK = ROOT / "var" / "clients"
ADMIN = ("clients-admin@example.com", "clients_admin", "Clients-admin-9-pass")

# What FastAPI's default names leak: the route's path, its method, a generic's parameters.
LEAKS = re.compile(
    r"api_?v\d|(^|_)(get|post|put|patch|delete)$|^body_|union|paginated_?response",
    re.IGNORECASE,
)


def _run(command: list[str], cwd: Path, env: Mapping[str, str] | None = None) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, cwd=cwd, env=None if env is None else dict(env), check=True)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def leaked_names(names: Iterable[str]) -> list[str]:
    """The names that carry a path, an HTTP method or a generic's parameters."""
    return sorted(name for name in names if LEAKS.search(_snake(name)))


def operation_ids() -> set[str]:
    document = json.loads(DOCUMENT.read_text())
    return {op["operationId"] for ops in document["paths"].values() for op in ops.values()}


def typescript() -> list[str]:
    """Generate and compile the TypeScript client; its exported names."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("make check-clients needs Node.js and npm on PATH")
    _run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], TYPESCRIPT)
    shutil.rmtree(TYPESCRIPT / "src" / "generated", ignore_errors=True)
    shutil.rmtree(TYPESCRIPT / "dist", ignore_errors=True)
    _run([npm, "run", "--silent", "generate"], TYPESCRIPT)
    _run([npm, "run", "--silent", "build"], TYPESCRIPT)
    index = (TYPESCRIPT / "src" / "generated" / "index.ts").read_text()
    exported = re.findall(r"export (?:type )?\{([^}]*)\}", index)
    return [name.split()[-1] for block in exported for name in block.split(",") if name.strip()]


def python_generator() -> Path:
    """The generator's virtualenv, remade when its requirements change; its bin directory."""
    requirements = PYTHON / "requirements.txt"
    home = WORK / "python-venv"
    stamp = home / "requirements.sha256"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != digest:
        shutil.rmtree(home, ignore_errors=True)
        venv.create(home, with_pip=True)
        pip = [str(home / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        _run([*pip, "--require-hashes", "-r", str(requirements)], ROOT)
        stamp.write_text(digest)
    return home / "bin"


def python(bin_dir: Path) -> tuple[Path, list[str]]:
    """Generate ``kit_api_client``; where it is and its public names."""
    package = WORK / "python" / "kit_api_client"
    shutil.rmtree(package.parent, ignore_errors=True)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    generate = [str(bin_dir / "openapi-python-client"), "generate", "--meta", "none"]
    generate += ["--path", str(DOCUMENT), "--config", str(PYTHON / "config.yaml")]
    _run([*generate, "--output-path", str(package)], ROOT, env)
    modules = [path.stem for path in (package / "api").glob("*/*.py") if path.stem != "__init__"]
    models = (package / "models" / "__init__.py").read_text()
    exported = re.findall(r'"(\w+)"', models[models.index("__all__") :])
    return package.parent, [*modules, *exported]


def main() -> int:
    WORK.mkdir(parents=True, exist_ok=True)
    ts_names = typescript()
    bin_dir = python_generator()
    python_path, py_names = python(bin_dir)

    ids = {id_.replace("-", "_") for id_ in operation_ids()}
    py_modules = {name for name in py_names if name.islower()}
    problems = [f"leaked name: {name}" for name in leaked_names([*ts_names, *py_names])]
    if py_modules != ids:
        problems.append(f"python modules {sorted(py_modules ^ ids)} differ from operation ids")

    database = WORK / "flows.db"
    database.unlink(missing_ok=True)
    env = {
        **os.environ,
        "APP_ENV": "local",
        "SECRET_KEY": "clients-check-secret-key-long-enough-for-hs256-0123",
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "REDIS_URL": "",
        "SMTP_HOST": "",
        "RATE_LIMITER_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
    }
    create_admin(env, *ADMIN)
    _, username, password = ADMIN
    with serve(env, WORK / "server.log") as base:
        flow_env = {**os.environ, "PYTHONPATH": str(python_path)}
        flow = [str(bin_dir / "python"), str(PYTHON / "flow.py"), base, username, password]
        _run(flow, ROOT, flow_env)
        _run(["node", "dist/flow.js", base, username, password], TYPESCRIPT)

    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
