"""Stored notebook outputs, constraints.txt and the installed stack agree.

Checked cells (``# NBVAL_CHECK_OUTPUT``) print numbers that depend on NumPy's random streams,
torch's summation order and pandas' formatting: with numpy 1.26 eight of them differed. So
constraints.txt pins those packages, tools/build_notebooks.py builds only on the pinned versions
and records them in each notebook, and this test keeps the three in step.
"""

import importlib.util
import re
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / "tools" / "build_notebooks.py")
build_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_notebooks)

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_output_stack_is_pinned():
    pins = build_notebooks.pinned()
    missing = [name for name in build_notebooks.OUTPUT_STACK if name not in pins]
    assert not missing, f"constraints.txt must pin {missing}: their versions change checked notebook outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_come_from_the_pinned_stack(path):
    recorded = json.loads(path.read_text()).get("metadata", {}).get("workbench", {}).get("outputs_made_with")
    assert recorded, f"{path.name} does not record the stack its outputs came from; rebuild it with tools/build_notebooks.py"
    pins = build_notebooks.pinned()
    assert recorded == {name: pins.get(name) for name in build_notebooks.OUTPUT_STACK}, (
        f"{path.name} was built with {recorded}, constraints.txt pins {pins}: rebuild the notebooks on the pinned stack")


def test_every_notebook_is_built_by_the_tool():
    assert {p.name for p in NOTEBOOKS} == set(build_notebooks.NOTEBOOKS)


def test_installed_stack_is_the_pinned_one():
    """Otherwise nbval compares outputs made on one stack with numbers from another."""
    installed, pins = build_notebooks.installed_stack(), build_notebooks.pinned()
    differ = {name: (version, pins.get(name)) for name, version in installed.items() if pins.get(name) != version}
    assert not differ, f"installed vs pinned {differ}: install with `pip install -e '.[test]' -c constraints.txt`"


#: Text that cites the internal methods spec (its file or its section numbers), which users do not have.
SPEC_CITATION = re.compile(r"methods\.md|\bM\d+(\.\d+)*\b|methods spec|the spec's")


def _cells(path):
    return json.loads(path.read_text())["cells"]


def _texts(cell):
    """The cell's source and the text of its stored outputs."""
    yield "".join(cell["source"])
    for output in cell.get("outputs", []):
        yield "".join(output.get("text", ""))
        for kind in ("text/plain", "text/markdown", "text/html"):
            yield "".join(output.get("data", {}).get(kind, ""))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_nbval_markers_are_tags_not_visible_comments(path):
    cells = _cells(path)
    visible = [k for k, cell in enumerate(cells) if "NBVAL" in "".join(cell["source"]).upper()]
    assert not visible, f"{path.name}: cells {visible} show an NBVAL comment; put it in the cell's metadata tags"
    tagged = [k for k, cell in enumerate(cells) if build_notebooks.CHECK_TAG in cell.get("metadata", {}).get("tags", [])]
    checked = [k for k, (kind, source) in enumerate(build_notebooks.NOTEBOOKS[path.name]) if source.startswith(build_notebooks.CHECK)]
    assert tagged == checked, f"{path.name}: cells {checked} are checked in the build tool, cells {tagged} are tagged: rebuild it"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_text_cites_the_internal_spec(path):
    found = [(k, match.group(0)) for k, cell in enumerate(_cells(path)) for text in _texts(cell)
             for match in SPEC_CITATION.finditer(text)]
    assert not found, f"{path.name}: cites the internal spec {found}; cite the paper or docs/METHODS.md instead"


def test_the_spec_pattern_finds_what_it_must():
    assert all(SPEC_CITATION.search(t) for t in ["Methods: `methods.md` M1.2.", "(M3)", "P(A) (M5.5)", "xRR (M6)"])
    assert not any(SPEC_CITATION.search(t) for t in ["docs/METHODS.md", "Mistral 7B", "M&M", "n = 1M ratings"])


def test_package_readme_and_docs_cite_no_internal_spec():
    """Docstrings (what ``help()`` shows), UI text and the docs name papers or docs/METHODS.md, not spec sections."""
    files = [*sorted((ROOT / "workbench").rglob("*.py")), ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    found = [f"{path.relative_to(ROOT)}:{n}: {match.group(0)}" for path in files
             for n, line in enumerate(path.read_text().splitlines(), 1) for match in SPEC_CITATION.finditer(line)]
    assert not found, "cites the internal spec:\n" + "\n".join(found)
