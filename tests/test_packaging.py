"""environment.yml and binder/ cannot be solved here (no conda): keep them in step with pyproject by test."""

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch"}


def _names(requirements) -> set[str]:
    return {re.split(r"[<>=!~ \[]", r, maxsplit=1)[0].strip().lower().replace("_", "-") for r in requirements}


def _conda(path: Path) -> set[str]:
    text = path.read_text().split("dependencies:", 1)[1]
    lines = [line.strip()[2:] for line in text.splitlines() if re.match(r"\s+- [A-Za-z]", line)]
    return _names(line for line in lines if not line.endswith(":")) - {"python", "pip"}


def test_conda_environments_match_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = {CONDA_NAMES.get(n, n) for n in _names(project["dependencies"] + extras["notebook"] + extras["distributed"])}
    assert _conda(ROOT / "environment.yml") == wanted
    assert _conda(ROOT / "binder" / "environment.yml") == wanted | BINDER_ONLY


def test_distributed_extra_is_tested_in_ci():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(extras["distributed"]) <= set(extras["test"])  # CI installs [test]: the LocalCluster tests run there


def test_constraints_pin_cpu_torch():
    assert "torch==2.13.0" in (ROOT / "constraints.txt").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "-c constraints.txt" in ci and "'.[test,notebook]'" in ci  # CI runs the JupyterLab test too
    readme = (ROOT / "README.md").read_text()
    assert readme.count("-c constraints.txt") >= 2 and "workbench serve" in readme


def test_binder_post_build_installs_package():
    post = (ROOT / "binder" / "postBuild").read_text()
    assert "set -e" in post and "pip install" in post
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111


BINDER_ONLY = {"jupyter-server-proxy"}  # Binder reaches the app through it; not needed to use the package


def test_binder_serves_the_app_through_the_server_proxy():
    post = (ROOT / "binder" / "postBuild").read_text()
    assert "jupyter-server-proxy" in _conda(ROOT / "binder" / "environment.yml") and "c.ServerProxy.servers" in post
    assert "binder/app.py" in post and (ROOT / "binder" / "app.py").is_file()
    assert '"--address", "127.0.0.1"' in post  # the app listens on localhost only; the proxy is the way in


def test_conda_pip_sections_install_the_package_only():
    for path in (ROOT / "environment.yml", ROOT / "binder" / "environment.yml"):
        _, _, section = path.read_text().partition("- pip:")
        pip = [line.strip()[2:] for line in section.splitlines() if line.strip().startswith("- ")]
        assert pip in ([], ["-e ."]), (path, pip)  # every other package comes from conda-forge, in step with pyproject


def test_notebooks_and_components_load_panel_offline():
    """Notebooks load Panel with inline resources; component modules never re-load it (workbench.ui does, once)."""
    import json

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            source = "".join(cell["source"])
            for call in re.findall(r"\b(?:pn|panel)\.extension\([^)]*\)", source):
                assert "inline=True" in call, f"{path.name}: {call} fetches Panel from a CDN; use workbench.extension()"
    for path in (ROOT / "workbench" / "ui").glob("*.py"):
        if path.name != "resources.py":
            assert "hv.extension(" not in path.read_text(), f"{path.name}: hv.extension() re-publishes Bokeh in notebooks"
