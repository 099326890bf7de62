"""``make mutate``'s configuration stays true: its test selections exist, the weekly workflow
runs every target, and each accepted equivalent mutant still names a line of its module."""

import tomllib

import pytest
import yaml

from scripts.mutate import HERE, ROOT, TARGETS


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
    assert entry["reason"]
