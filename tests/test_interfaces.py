"""docs/interfaces.md lists exactly each engine package's public modules (its `__all__`), and for builder/explain/
every public function; a module added, removed or made private shows up here until the page says so."""
import importlib
import re
from pathlib import Path

import pytest

DOC = (Path(__file__).resolve().parents[1] / "docs" / "interfaces.md").read_text(encoding="utf-8")
PACKAGES = ["builder", "builder.model", "builder.graph", "builder.experiments", "builder.train", "builder.jobs",
            "builder.store", "builder.exports", "builder.sweep", "datasets"]


def section(folder: str) -> str:
    match = re.search(rf"^## `{re.escape(folder)}/` .*?(?=^## |\Z)", DOC, re.M | re.S)
    assert match, f"docs/interfaces.md has no section for {folder}/"
    return match.group(0)


def documented_modules(folder: str) -> set[str]:
    return {Path(path).stem for path in re.findall(rf"^\| `{re.escape(folder)}/(\w+)\.py` \|", section(folder), re.M)}


def subpackages(package: str) -> set[str]:
    folder = Path(importlib.import_module(package).__file__).parent
    return {p.name for p in folder.iterdir() if (p / "__init__.py").exists()}


@pytest.mark.parametrize("package", PACKAGES)
def test_each_public_module_is_documented_and_nothing_else(package):
    public = set(importlib.import_module(package).__all__)
    assert documented_modules(package.replace(".", "/")) == public


@pytest.mark.parametrize("package", PACKAGES)
def test_the_public_modules_exist(package):
    folder = Path(importlib.import_module(package).__file__).parent
    for name in importlib.import_module(package).__all__:
        assert (folder / f"{name}.py").is_file() or name in subpackages(package), f"{package}.{name}"


def test_every_public_explain_function_is_named_in_its_section():
    pytest.importorskip("keras")
    explain = importlib.import_module("builder.explain")
    text = section("builder/explain")
    assert [name for name in explain.__all__ if not re.search(rf"\b{name}\b", text)] == []
