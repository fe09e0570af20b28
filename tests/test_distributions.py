import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy as scipy_entropy

import workbench


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 10), min_size=2, max_size=6).filter(lambda x: sum(x) > 1e-6), st.integers(0, 10_000))
def test_jsd_is_scipy_squared_base_2(p, seed):
    q = np.random.default_rng(seed).random(len(p)) + 1e-3
    got = workbench.jsd(p, q)
    assert got == pytest.approx(jensenshannon(p, q, base=2) ** 2, abs=1e-9)
    assert 0 <= got <= 1
    assert got == pytest.approx(workbench.jsd(q, p), abs=1e-12)


def test_jsd_rowwise_and_extremes():
    p = pd.DataFrame([[1, 0], [0.5, 0.5]], index=["x", "y"])
    q = pd.DataFrame([[0, 1], [0.5, 0.5]], index=["x", "y"])
    out = workbench.jsd(p, q)
    assert out.to_dict() == {"x": 1.0, "y": 0.0}


def test_entropy_matches_scipy():
    rows = np.random.default_rng(0).random((20, 4))
    assert np.allclose(workbench.entropy(rows), scipy_entropy(rows, base=2, axis=1))
    assert np.allclose(workbench.entropy(rows, normalize=True), scipy_entropy(rows, base=2, axis=1) / 2)


def test_item_table_columns_and_ties():
    frame = pd.DataFrame({
        "item_id": ["a", "a", "a", "b", "b", "c"],
        "rater_id": ["x", "y", "z", "x", "y", "x"],
        "label": ["A", "A", "B", "A", "B", "B"],
    })
    table = workbench.item_table(workbench.read_ratings(frame))
    assert table.loc["a", ["n_ratings", "n_A", "n_B", "majority", "majority_tie"]].tolist() == [3, 2, 1, "A", False]
    assert table.loc["a", "p_A"] == pytest.approx(2 / 3)
    assert table.loc["b", "majority_tie"] and pd.isna(table.loc["b", "majority"]) and table.loc["b", "tied"] == "A|B"
    assert table.loc["a", "agreement"] == pytest.approx(1 / 3)
    assert np.isnan(table.loc["c", "agreement"])
    assert table.loc["b", "entropy_bits"] == 1.0 and table.loc["c", "entropy_norm"] == 0.0


def test_item_table_numeric_labels():
    rng = np.random.default_rng(1)
    data = rng.normal(size=(3, 10))
    table = workbench.item_table(workbench.Ratings.from_matrix(data, level="interval"))
    assert np.allclose(table["mean"], data.mean(axis=0)) and np.allclose(table["std"], data.std(axis=0))
    assert "majority" not in table.columns


def test_item_table_entropy_matches_chaosnli_field(shared_data):
    import gzip
    import json

    from workbench.datasets import read_chaosnli

    path = shared_data / "chaosnli" / "chaosNLI_snli.jsonl.gz"
    table = workbench.item_table(read_chaosnli(path))
    with gzip.open(path, "rt") as handle:
        published = pd.Series({row["uid"]: row["entropy"] for row in map(json.loads, handle)})
    assert np.allclose(table["entropy_bits"], published[table.index], atol=1e-12)
