"""Print ``poetry.lock`` as a pip requirements file with hashes, reading no network.

``make install`` uses it so the exact locked versions install with plain pip, also where
Poetry cannot reach a package index. Usage: ``python scripts/lock_requirements.py [--no-dev]``.
"""

import sys
import tomllib
from pathlib import Path

LOCK = Path(__file__).resolve().parents[1] / "poetry.lock"


def _markers(package: dict[str, object], groups: set[str]) -> str | None:
    markers = package.get("markers")
    if isinstance(markers, dict):
        chosen = [str(markers[group]) for group in sorted(groups) if group in markers]
        package_groups = package.get("groups", [])
        if not isinstance(package_groups, list):
            raise TypeError(f"groups of {package.get('name')} is not a list")
        if len(chosen) < len(groups & set(package_groups)):
            return None  # some selected group needs it unconditionally
        return " or ".join(f"({marker})" for marker in chosen) or None
    return str(markers) if markers else None


def requirements(groups: set[str]) -> list[str]:
    lock = tomllib.loads(LOCK.read_text(encoding="utf-8"))
    lines: list[str] = []
    for package in lock["package"]:
        if not groups & set(package.get("groups", ["main"])):
            continue
        line = f"{package['name']}=={package['version']}"
        markers = _markers(package, groups)
        if markers:
            line += f" ; {markers}"
        hashes = [file["hash"] for file in package.get("files", [])]
        lines.append(" \\\n    ".join([line, *(f"--hash={digest}" for digest in hashes)]))
    return lines


if __name__ == "__main__":
    selected = {"main"} if "--no-dev" in sys.argv[1:] else {"main", "dev"}
    sys.stdout.write("\n".join(requirements(selected)) + "\n")
