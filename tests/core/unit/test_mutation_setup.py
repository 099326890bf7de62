"""``make mutate``'s configuration stays true: its test selections exist, the weekly workflow
runs every target, and each accepted equivalent mutant still names a line of its module."""

import tomllib

import pytest
import yaml

from scripts.mutate import HERE, ROOT, TARGETS, Equivalent


def test_every_target_and_its_tests_exist() -> None:
    for module, tests in TARGETS.items():
        assert (ROOT / module).is_file(), module
        for test in tests:
            assert (ROOT / test.partition("::")[0]).exists(), test


def test_the_weekly_workflow_runs_every_target() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/mutation.yml").read_text())

    assert workflow["jobs"]["mutate"]["strategy"]["matrix"]["module"] == list(TARGETS)


@pytest.mark.parametrize(
    "entry",
    tomllib.loads((HERE / "equivalent.toml").read_text())["equivalent"],
    ids=lambda entry: f"{entry['module']}: {entry['mutant']}",
)
def test_each_accepted_equivalent_names_a_line_of_its_module(entry: dict[str, str]) -> None:
    assert entry["module"] in TARGETS
    lines = {line.strip() for line in (ROOT / entry["module"]).read_text().splitlines()}
    assert entry["line"].strip() in lines
    assert entry.get("near", "").strip() in lines | {""}
    assert entry["reason"]


DIFF = """--- app/auth/services/user.py
+++ app/auth/services/user.py
@@ -184,7 +184,7 @@
     async def delete(self, user: User) -> None:
-        now = utcnow()
+        now = None
         await self._users.delete(self._db, user)
"""


def test_an_equivalent_with_a_near_line_matches_only_there() -> None:
    here = Equivalent(
        "app/auth/services/user.py",
        "now = utcnow()",
        "now = None",
        "async def delete(self, user: User) -> None:",
    )
    elsewhere = Equivalent(
        "app/auth/services/user.py", "now = utcnow()", "now = None", "def other(self) -> None:"
    )
    anywhere = Equivalent("app/auth/services/user.py", "now = utcnow()", "now = None")

    assert here.matches("app/auth/services/user.py", DIFF)
    assert anywhere.matches("app/auth/services/user.py", DIFF)
    assert not elsewhere.matches("app/auth/services/user.py", DIFF)
    assert not here.matches("app/auth/services/auth.py", DIFF)
