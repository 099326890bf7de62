"""``python -m app new-module NAME``: a working module skeleton, wired into the kernel.

The skeleton copies the layout of ``app.auth`` (models, repositories, services, schemas,
routes, policies, gateway, events, listeners, tasks, config) with one CRUD entity and its
tests. Everything is checked before the first file is written, so a refusal changes nothing.
"""

import keyword
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "template"
RESERVED = frozenset({"app", "core", "scaffold", "main", "cli", "tests", "alembic", "bench"})
_MODULE_NAME = re.compile(r"^[a-z][a-z0-9_]{1,29}$")
_ENTITY_NAME = re.compile(r"^[A-Z][A-Za-z0-9]{1,39}$")
WIRING = ("routers.py", "models.py", "listeners.py", "tasks.py")


class ScaffoldError(Exception):
    """The module cannot be created; nothing was written."""


@dataclass(frozen=True)
class Names:
    module: str
    entity: str

    @property
    def entity_snake(self) -> str:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.entity).lower()

    @property
    def entities(self) -> str:
        word = self.entity_snake
        if word.endswith("y") and not word.endswith(("ay", "ey", "oy", "uy")):
            return word[:-1] + "ies"
        if word.endswith(("s", "x", "ch", "sh")):
            return word + "es"
        return word + "s"

    @property
    def replacements(self) -> dict[str, str]:
        return {
            "__MODULE__": self.module.upper(),
            "__Module__": "".join(part.capitalize() for part in self.module.split("_")),
            "__module__": self.module,
            "__entities__": self.entities,
            "__Entity__": self.entity,
            "__entity__": self.entity_snake,
            "__table__": self.entities,
        }

    def render(self, text: str) -> str:
        for placeholder, value in self.replacements.items():
            text = text.replace(placeholder, value)
        return text


def default_entity(module: str) -> str:
    """``blog_posts`` -> ``BlogPost``: the module name in the singular, in CamelCase."""
    singular = module
    if singular.endswith("ies"):
        singular = singular[:-3] + "y"
    elif singular.endswith("s") and not singular.endswith("ss"):
        singular = singular[:-1]
    return "".join(part.capitalize() for part in singular.split("_") if part)


def _insert_import(source: str, line: str) -> str:
    lines = source.splitlines()
    last = max(index for index, text in enumerate(lines) if text.startswith("from app."))
    lines.insert(last + 1, line)
    return "\n".join(lines) + "\n"


def _add_to_all(source: str, name: str) -> str:
    updated, count = re.subn(r"__all__ = \[", f'__all__ = ["{name}", ', source, count=1)
    if not count:
        raise ScaffoldError("no __all__ list to extend")
    return updated


def _wire(core: Path, names: Names) -> dict[Path, str]:
    module = names.module
    sources = {path: path.read_text() for path in (core / file for file in WIRING)}
    routers, models, listeners, tasks = (core / file for file in WIRING)
    sources[routers] = (
        _insert_import(
            sources[routers], f"from app.{module} import router_v1 as {module}_router_v1"
        )
        + f"api_router.include_router({module}_router_v1)\n"
    )
    for path, part in ((models, "models"), (listeners, "listeners"), (tasks, "tasks")):
        alias = f"{module}_{part}"
        sources[path] = _add_to_all(
            _insert_import(sources[path], f"from app.{module} import {part} as {alias}"), alias
        )
    return sources


# The settings of the module's config.py.tmpl, with their defaults, for .sample.env.
SAMPLE_ENV = """

# __module__ module: __entities__ created per client per minute.
__MODULE___CREATE_RATE_LIMIT=30
"""


def _contracts(pyproject: str, module: str) -> str:
    def extend(pattern: str, text: str) -> str:
        updated, count = re.subn(pattern, lambda m: f'{m.group(1)}, "app.{module}"]', text, count=1)
        if not count:
            raise ScaffoldError(f"pyproject.toml: no line matching {pattern!r}")
        return updated

    text = extend(r"(forbidden_modules = \[[^\]]*)\]", pyproject)
    text = extend(r"(containers = \[[^\]]*)\]", text)
    contract = (
        "[[tool.importlinter.contracts]]\n"
        f'id = "{module}-front-door"\n'
        f'name = "Other modules reach app.{module} only through its front door"\n'
        'type = "protected"\n'
        f'protected_modules = ["app.{module}.**"]\n'
        f'allowed_importers = ["app.{module}", "app.core.models", "app.core.listeners", '
        '"app.core.tasks"]\n\n'
    )
    if "[tool.mypy]" not in text:
        raise ScaffoldError("pyproject.toml: no [tool.mypy] section to insert before")
    return text.replace("[tool.mypy]", contract + "[tool.mypy]", 1)


def check_names(root: Path, module: str, entity: str) -> Names:
    if not _MODULE_NAME.match(module) or keyword.iskeyword(module) or module in RESERVED:
        raise ScaffoldError(
            f"{module!r} is not a usable module name: use 2-30 lowercase letters, digits or "
            f"underscores, starting with a letter, and none of {', '.join(sorted(RESERVED))}"
        )
    if not _ENTITY_NAME.match(entity):
        raise ScaffoldError(f"{entity!r} is not a usable entity name: use CamelCase, e.g. BlogPost")
    for path in (root / "app" / module, root / "tests" / module):
        if path.exists():
            raise ScaffoldError(f"{path.relative_to(root)} already exists")
    return Names(module=module, entity=entity)


def create_module(root: Path, module: str, entity: str | None = None) -> list[Path]:
    """Write the module and its tests, wire them in; return the files written."""
    names = check_names(root, module, entity or default_entity(module))
    taken_tables = {
        match.group(1)
        for path in (root / "app").glob("*/models/*.py")
        for match in re.finditer(r'__tablename__ = "([^"]+)"', path.read_text())
    }
    if names.entities in taken_tables:
        raise ScaffoldError(
            f"a table named {names.entities!r} already exists; pass another --entity"
        )

    planned: dict[Path, str] = {}
    for template in sorted(TEMPLATE.rglob("*.tmpl")):
        relative = template.relative_to(TEMPLATE)
        top, rest = relative.parts[0], relative.parts[1:]
        target = root / top / module / names.render(str(Path(*rest)))
        planned[target.with_suffix("")] = names.render(template.read_text())
    planned |= _wire(root / "app" / "core", names)
    pyproject = root / "pyproject.toml"
    planned[pyproject] = _contracts(pyproject.read_text(), module)
    sample_env = root / ".sample.env"
    if sample_env.is_file():  # every key the application reads is listed there
        planned[sample_env] = sample_env.read_text().rstrip("\n") + names.render(SAMPLE_ENV)

    for path, content in planned.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    _format([path for path in planned if path.suffix == ".py"])
    return sorted(planned)


def _ruff() -> str | None:
    """The project's ruff (a dev dependency): beside the running Python, as in
    ``.venv/bin/python -m app new-module``, whether or not the virtualenv is activated; else
    the one on ``PATH``."""
    beside = Path(sys.executable).parent / "ruff"
    if beside.is_file():
        return str(beside)
    return shutil.which("ruff")


def _format(paths: list[Path]) -> None:
    """Sort imports and format with ruff when it is installed."""
    ruff = _ruff()
    if ruff is None:
        return
    files = [str(path) for path in paths]
    subprocess.run([ruff, "check", "--fix-only", "--quiet", *files], check=False)  # noqa: S603
    subprocess.run([ruff, "format", "--quiet", *files], check=False)  # noqa: S603
