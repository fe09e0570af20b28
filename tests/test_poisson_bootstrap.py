"""The counter-based Poisson bootstrap: intervals checked by value, and independent of row order and split.

``bootstrap_weights(..., bootstrap="poisson")`` returns the weights ``reliability(...,
bootstrap="poisson")`` uses; a naive loop builds each replicate data set (item i repeated w_i times)
and computes alpha with the ``krippendorff`` package (helpers shared with test_interval_values.py).
"""

import numpy as np
import pandas as pd
import pytest
from test_interval_values import LEVEL, STUDIES, _matrix, _package_alpha, _percentiles, _rows

import workbench
from workbench.analysis.reliability import bootstrap_weights
from workbench.data.keys import stable_keys
from workbench.kernels.resampling import poisson_weights

N_BOOT = 60


@pytest.mark.parametrize("level", ["nominal", "interval"])
@pytest.mark.parametrize("by", [None, "topic", "group", "mode"])
def test_poisson_interval_equals_naive_loop(level, by):
    ratings = STUDIES[level]
    table = workbench.reliability(ratings, level=level, by=by, n_boot=N_BOOT, seed=7, ci=LEVEL, bootstrap="poisson")
    weights = bootstrap_weights(ratings, n_boot=N_BOOT, seed=7, by=by, bootstrap="poisson")
    assert table.attrs["bootstrap"] == "poisson"
    for _, row in table.iterrows():
        name = None if by is None else row[by]
        frame = _rows(ratings, by, name)
        own = weights.xs(name, axis=1, level=0) if isinstance(weights.columns, pd.MultiIndex) else weights[frame["item_id"].unique()]
        values = [_package_alpha(_matrix(frame, level), counts, level) for _, counts in own.iterrows()]
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(_percentiles(values), abs=1e-12)


def test_poisson_weights_depend_on_seed_item_and_replicate_only():
    ratings = STUDIES["nominal"]
    weights = bootstrap_weights(ratings, n_boot=50, seed=3, bootstrap="poisson")
    keys = stable_keys(weights.columns)
    assert np.array_equal(weights.to_numpy(), poisson_weights(keys, 50, 3))
    assert np.array_equal(poisson_weights(keys[::-1], 50, 3), weights.to_numpy()[:, ::-1])  # order of units: no effect
    assert np.array_equal(poisson_weights(keys[:5], 20, 3, first=30), weights.to_numpy()[30:50, :5])  # any block of replicates
    assert not np.array_equal(bootstrap_weights(ratings, n_boot=50, seed=4, bootstrap="poisson").to_numpy(), weights.to_numpy())
    by_slice = bootstrap_weights(ratings, n_boot=50, seed=3, by="mode", bootstrap="poisson")
    for (_, item), column in by_slice.items():  # an item keeps its weight in every slice
        assert np.array_equal(column.to_numpy(), weights[item].to_numpy())


def test_poisson_draws_are_poisson_one():
    w = poisson_weights(np.arange(40_000, dtype=np.uint64), 25, seed=0)
    assert abs(w.mean() - 1) < 5 * np.sqrt(1 / w.size) and abs(w.var() - 1) < 0.01
    assert abs((w == 0).mean() - np.exp(-1)) < 0.005 and abs((w == 2).mean() - np.exp(-1) / 2) < 0.005
    assert abs(np.corrcoef(w[0], w[1])[0, 1]) < 0.02  # replicates are independent draws


def test_poisson_interval_does_not_depend_on_row_order():
    ratings = STUDIES["interval"]
    frame = ratings.to_frame()
    shuffled = frame.sample(frac=1.0, random_state=0)
    again = workbench.Ratings.from_frame(shuffled, level="interval", item_columns=["topic"], rater_columns=["group"])
    a, b = (workbench.reliability(r, by="topic", n_boot=200, seed=2, bootstrap="poisson").set_index("topic") for r in (ratings, again))
    pd.testing.assert_frame_equal(a, b, rtol=1e-12, atol=1e-12)
    multinomial = workbench.reliability(ratings, by="topic", n_boot=200, seed=2).set_index("topic")
    assert not np.allclose(multinomial["ci_low"], a["ci_low"])  # another draw, another interval


def test_poisson_bootstrap_refuses_rater_resampling():
    with pytest.raises(workbench.WorkbenchDataError, match="resample='items'"):
        workbench.reliability(STUDIES["nominal"], resample="raters", bootstrap="poisson")
    with pytest.raises(workbench.WorkbenchDataError, match="'multinomial' or 'poisson'"):
        workbench.reliability(STUDIES["nominal"], bootstrap="exact")
