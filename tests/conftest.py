import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("WORKBENCH_SHARED_DATA", ROOT.parent / "shared" / "data"))
SHARED_REFERENCE = SHARED_DATA.parent / "reference"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only real data sets of ``../shared/data``; tests that need them skip when absent."""
    if not (SHARED_DATA / "DATA.md").is_file():
        pytest.skip(f"real data not available at {SHARED_DATA} (set WORKBENCH_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo():
    import workbench

    return workbench.simulate_study(seed=0)


@pytest.fixture(scope="module")
def served_committee(tmp_path_factory):
    """URL of the app on a 200-item study whose committee's scores are in its store (one server per test module)."""
    from browser import served_committee_study

    with served_committee_study(tmp_path_factory.mktemp("committee")) as url:
        yield url
