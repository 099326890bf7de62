"""``python -m app new-module`` in a temporary copy of the project: the new module lints,
type-checks, keeps the import contracts, migrates and passes its own tests, as generated and
once grown into a real second module."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.scaffold import ScaffoldError, create_module, default_entity

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# What a user adds to the generated projects module, laid over it as they would edit it.
SECOND_MODULE = Path(__file__).resolve().parent / "second_module"


IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "var", "__pycache__", ".*_cache", ".coverage*", "htmlcov", ".env", "results"
)


def copy_project(target: Path) -> Path:
    """The project's files, from git when this is a checkout, else from the tree itself."""
    if shutil.which("git") and (ROOT / ".git").exists():
        listed = subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        for name in listed:
            source = ROOT / name
            if source.is_file() and not name.startswith((".venv/", "var/")):
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / name)
    else:
        shutil.copytree(ROOT, target, ignore=IGNORED)
    if (ROOT / ".mypy_cache").is_dir():  # `make lint` ran: the copy's lint checks what changed
        shutil.copytree(ROOT / ".mypy_cache", target / ".mypy_cache", dirs_exist_ok=True)
    return target


def run(project: Path, *command: str) -> subprocess.CompletedProcess[str]:
    # The virtualenv is not on PATH, as after `make install` without activating it.
    path = os.pathsep.join(
        entry for entry in os.environ["PATH"].split(os.pathsep) if Path(entry) != BIN
    )
    env = {
        **os.environ,
        "PATH": path,
        **{
            f"{prefix}{key}": value
            for prefix in ("", "TEST_")
            for key, value in {
                "DATABASE_URL": f"sqlite+aiosqlite:///{project / 'var' / 'scaffold.db'}",
                "REDIS_URL": "",
                "SMTP_HOST": "",
            }.items()
        },
        "COVERAGE_PROCESS_START": "",
    }
    return subprocess.run(  # noqa: S603
        list(command),
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def follow(project: Path, steps: list[list[str]]) -> None:
    for step in steps:
        result = run(project, *step)
        assert result.returncode == 0, f"{' '.join(step)}\n{result.stdout}\n{result.stderr}"


@pytest.mark.slow
def test_new_module_is_ready_to_use_and_grows_on_public_names(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    python = str(BIN / "python")

    created = run(project, python, "-m", "app", "new-module", "projects")
    assert created.returncode == 0, created.stderr
    for printed in (
        'make migration m="create projects tables"',
        "make migrate",
        "make test ARGS=tests/projects",
        "make openapi",
    ):
        assert printed in created.stdout
    assert "-->" not in created.stdout + created.stderr  # no lint findings shown to the user

    # The next steps it printed, as printed, with this run's virtualenv.
    make = ["make", f"VENV={BIN.parent}"]
    follow(
        project,
        [
            [*make, "lint"],
            [*make, "migration", "m=create projects tables"],
            [*make, "migrate"],
            [*make, "check-migrations"],
            [*make, "test", "ARGS=tests/projects"],
            [*make, "test", "ARGS=tests/core/unit/test_env_files.py"],  # its settings documented
            [*make, "openapi"],
            [*make, "test", "ARGS=tests/core/unit/test_openapi_names.py"],  # ids and names
        ],
    )
    assert "projects" in "".join(
        path.read_text() for path in (project / "alembic/versions").glob("*.py")
    )

    # The module grown as a user would (public projects, tasks, a mail when one is done, a
    # cached public count, a UserDeleted listener), importing only exported names.
    shutil.copytree(SECOND_MODULE, project, dirs_exist_ok=True)
    follow(
        project,
        [
            [*make, "lint"],
            [*make, "migration", "m=public projects and their tasks"],
            [*make, "migrate"],
            [*make, "check-migrations"],
            [*make, "test", "ARGS=tests/projects tests/core/unit/test_public_names.py"],
        ],
    )


def test_project_copies_without_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)

    project = copy_project(tmp_path / "project")

    assert (project / "app" / "main.py").is_file()
    assert (project / "alembic" / "env.py").is_file()
    assert (project / ".test.env").is_file()
    assert not (project / ".venv").exists()
    assert not (project / "var").exists()
    assert not list(project.rglob("__pycache__"))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("auth", "already exists"),
        ("core", "not a usable module name"),
        ("Blog", "not a usable module name"),
        ("class", "not a usable module name"),
        ("x", "not a usable module name"),
        ("../evil", "not a usable module name"),
    ],
)
def test_bad_or_existing_names_are_refused_and_change_nothing(
    tmp_path: Path, name: str, message: str
) -> None:
    project = tmp_path / "project"
    (project / "app" / "auth").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[tool.mypy]\n")
    before = sorted(project.rglob("*"))

    with pytest.raises(ScaffoldError, match=message):
        create_module(project, name)

    assert sorted(project.rglob("*")) == before


def test_a_table_that_exists_is_refused(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")

    with pytest.raises(ScaffoldError, match="table named 'users'"):
        create_module(project, "people", entity="User")


@pytest.mark.parametrize(
    ("module", "entity"),
    [("posts", "Post"), ("blog_posts", "BlogPost"), ("categories", "Category")],
)
def test_default_entity_names(module: str, entity: str) -> None:
    assert default_entity(module) == entity
