"""Modules build on public names only: what a kernel package or another module's front door
lists in ``__all__``. Anything else may change without notice."""

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
APP = ROOT / "app"
NOT_MODULES = {"core", "scaffold"}


def modules() -> list[str]:
    return sorted(
        path.name
        for path in APP.iterdir()
        if (path / "__init__.py").is_file() and path.name not in NOT_MODULES
    )


def private_imports(module: str) -> list[str]:
    """``file: name from place`` for each import of a name its place does not export."""
    found = []
    for path in sorted((APP / module).rglob("*.py")):
        where = path.relative_to(APP.parent)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found += [
                    f"{where}: import {alias.name}"
                    for alias in node.names
                    if alias.name.startswith("app.") and alias.name.split(".")[1] != module
                ]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("app."):
                assert node.module is not None
                if node.level or node.module.split(".")[1] == module:
                    continue
                exported = getattr(importlib.import_module(node.module), "__all__", ())
                found += [
                    f"{where}: {alias.name} from {node.module}"
                    for alias in node.names
                    if alias.name not in exported
                ]
    return found


@pytest.mark.parametrize("module", modules())
def test_a_module_imports_only_what_the_kernel_and_other_modules_export(module: str) -> None:
    assert private_imports(module) == []


def test_the_readme_imports_only_exported_names() -> None:
    """Its examples are what people copy; example modules (``app.blog``) are left out."""
    imports = re.findall(
        r"^from (app(?:\.\w+)+) import (\([^)]*\)|[^\n#]+)", (ROOT / "README.md").read_text(), re.M
    )
    shown = [
        (place, name.strip())
        for place, names in imports
        if place.split(".")[1] in {"core", *modules()}
        for name in names.strip("()").split(",")
        if name.strip()
    ]

    assert len(shown) > 20
    assert [
        f"{name} from {place}"
        for place, name in shown
        if name not in getattr(importlib.import_module(place), "__all__", ())
    ] == []


def test_a_private_name_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = tmp_path / "app"
    (app / "shop").mkdir(parents=True)
    (app / "shop" / "__init__.py").write_text("")
    (app / "shop" / "tasks.py").write_text(
        "from app.core.services.queue import queue_service, broker\n"
        "from app.auth import UserDTO\n"
        "from app.auth.gateway import AuthGateway\n"
        "import app.auth.tasks\n"
        "from app.shop import tasks\n"
    )
    monkeypatch.setattr(f"{__name__}.APP", app)

    assert modules() == ["shop"]
    assert private_imports("shop") == [
        "app/shop/tasks.py: broker from app.core.services.queue",
        "app/shop/tasks.py: AuthGateway from app.auth.gateway",
        "app/shop/tasks.py: import app.auth.tasks",
    ]
