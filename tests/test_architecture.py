"""The shape the code keeps: every module of bot/ sits in a layer of the import contracts
(so a new module cannot slip past `lint-imports`), every package is named in the
architecture doc, and modules and functions stay small."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path
from typing import cast

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "schedules", "storage")
MODULE_LINES, FUNCTION_LINES, LISTENER_LINES = 400, 60, 40


def _layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layered = next(c for c in config["contracts"] if c["type"] == "layers")
    return [name.strip("() ") for layer in layered["layers"] for name in re.split(r"[|:]", layer)]


def test_every_module_of_bot_is_in_a_layer() -> None:
    layered = set(_layers())
    top = {
        f"bot.{p.stem if p.is_file() else p.name}"
        for p in (ROOT / "bot").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()
    }
    assert top - layered == set(), "add these modules to a layer in pyproject.toml"


def test_every_package_is_named_in_the_architecture_doc() -> None:
    """Each package of the code (a folder with an `__init__.py`) is named in
    docs/architecture.md by its path, as `bot/rollback/steps/`."""
    doc = (ROOT / "docs" / "architecture.md").read_text()
    packages = {
        f"{init.parent.relative_to(ROOT).as_posix()}/"
        for package in PACKAGES
        for init in (ROOT / package).rglob("__init__.py")
    }
    assert packages, "no packages found"
    named = {p for p in packages if re.search(re.escape(p) + r"(?![\w/])", doc)}
    assert packages - named == set(), "name these in docs/architecture.md"


def _sources() -> list[Path]:
    return [
        p
        for package in PACKAGES
        for p in (ROOT / package).rglob("*.py")
        if "migrations" not in p.parts
    ]


def test_no_module_is_too_long() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in _sources()
        if (n := len(p.read_text().splitlines())) > MODULE_LINES
    }
    assert long == {}, f"split these modules (over {MODULE_LINES} lines)"


def _functions(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text())
    return [
        # ast.parse sets end_lineno on every node
        (f"{path.relative_to(ROOT)}:{node.name}", cast(int, node.end_lineno) - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


@pytest.mark.parametrize("limit_dir", [("handlers", LISTENER_LINES), ("", FUNCTION_LINES)])
def test_no_function_is_too_long(limit_dir: tuple[str, int]) -> None:
    where, limit = limit_dir
    sources = [p for p in _sources() if not where or p.parts[len(ROOT.parts)] == where]
    long = {name: n for p in sources for name, n in _functions(p) if n > limit}
    assert long == {}, f"split these functions (over {limit} lines)"
