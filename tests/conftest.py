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
