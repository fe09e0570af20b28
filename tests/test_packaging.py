"""environment.yml and binder/ cannot be solved here (no conda): keep them in step with pyproject by test."""

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch"}


def _names(requirements) -> set[str]:
    return {re.split(r"[<>=!~ ]", r, maxsplit=1)[0].strip().lower().replace("_", "-") for r in requirements}


def _conda(path: Path) -> set[str]:
    text = path.read_text().split("dependencies:", 1)[1]
    lines = [line.strip()[2:] for line in text.splitlines() if re.match(r"\s+- [A-Za-z]", line)]
    return _names(line for line in lines if not line.endswith(":")) - {"python", "pip"}


def test_conda_environments_match_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {CONDA_NAMES.get(n, n) for n in _names(project["dependencies"] + project["optional-dependencies"]["notebook"])}
    assert _conda(ROOT / "environment.yml") == wanted
    assert _conda(ROOT / "binder" / "environment.yml") == wanted


def test_constraints_pin_cpu_torch():
    assert "torch==2.13.0" in (ROOT / "constraints.txt").read_text()
    assert "-c constraints.txt" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert readme.count("-c constraints.txt") >= 2 and "workbench serve" in readme


def test_binder_post_build_installs_package():
    post = (ROOT / "binder" / "postBuild").read_text()
    assert "set -e" in post and "pip install" in post
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111
