"""Alpha with many distinct values: the sparse O(V) / chunked path equals the V × V computation,
and sizes that cannot be done are a WorkbenchDataError, never an allocator error."""

import warnings

import krippendorff
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import workbench
import workbench.kernels.agreement as kernels
from workbench import WorkbenchDataError
from workbench.errors import UndefinedMetricWarning

LEVELS = ["nominal", "ordinal", "interval", "ratio"]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def matrices(draw):
    raters, units = draw(st.integers(2, 6)), draw(st.integers(1, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = draw(st.sampled_from([2, 5, 40]))
    data = rng.integers(0, values, size=(raters, units)) * 0.37 + draw(st.sampled_from([0.0, 0.1]))  # zero included sometimes
    data[rng.random(data.shape) < draw(st.sampled_from([0.0, 0.3, 0.7]))] = np.nan
    return data


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return fn(*args, **kwargs)


def same(a, b, tol=1e-9):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.all((np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= tol * np.maximum(1, np.abs(b)))))


def both_paths(monkeypatch, fn):
    """fn() with V × V coincidences, then with the sparse path forced (every value count is 'many')."""
    dense = fn()
    monkeypatch.setattr(kernels, "COINCIDENCE_MAX_VALUES", 0)
    sparse = fn()
    monkeypatch.setattr(kernels, "COINCIDENCE_MAX_VALUES", 64)
    return dense, sparse


@pytest.mark.parametrize("level", LEVELS)
@SETTINGS
@given(data=matrices())
def test_sparse_path_equals_coincidence_matrix(monkeypatch, level, data):
    dense, sparse = both_paths(monkeypatch, lambda: quiet(workbench.krippendorff_alpha, data, level_of_measurement=level))
    assert same(sparse, dense), (sparse, dense)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "ratio"])
@SETTINGS
@given(data=matrices())
def test_sparse_path_per_slice_and_rater_bootstrap(monkeypatch, level, data):
    """Slices cut SparseCounts by rows; the rater bootstrap's weighted copies go through the same kernel."""
    if np.isnan(data).all():
        return
    ratings = workbench.Ratings.from_matrix(data, level=level)
    ratings.items["half"] = np.arange(ratings.n_items) % 2
    run = lambda: quiet(workbench.reliability, ratings, by="half", resample="raters", n_boot=5, seed=1)[["value", "ci_low", "ci_high"]]
    dense, sparse = both_paths(monkeypatch, run)
    assert same(sparse.to_numpy(), dense.to_numpy()), (sparse, dense)


@pytest.mark.parametrize("level", ["ordinal", "ratio"])
def test_hundreds_of_distinct_values_match_krippendorff(level):
    rng = np.random.default_rng(3)
    data = np.abs(rng.normal(5, 2, size=(4, 150))).round(2)
    data[rng.random(data.shape) < 0.2] = np.nan
    assert len(np.unique(data[~np.isnan(data)])) > kernels.COINCIDENCE_MAX_VALUES
    ours = workbench.krippendorff_alpha(data, level_of_measurement=level)
    assert ours == pytest.approx(krippendorff.alpha(data, level_of_measurement=level), abs=1e-9)


def test_bootstrap_too_large_is_a_data_error(monkeypatch):
    """Ratio alpha's replicates still need per-item V² statistics: refused in plain words (which option to change).
    Nominal and ordinal alpha sum replicates from sparse entries: under the same tiny limit they get an interval."""
    monkeypatch.setattr(kernels, "MAX_DENSE_BYTES", 1 << 16)
    data = np.abs(np.random.default_rng(0).normal(size=(3, 200))).round(3) + 0.1
    ratings = workbench.Ratings.from_matrix(data, level="ratio")
    assert np.isfinite(workbench.reliability(ratings, ci=None)["value"].iloc[0])  # point value: no per-item V² statistics
    with pytest.raises(WorkbenchDataError, match=r"too large to hold in memory; .*ci=None.*level='interval'") as error:
        workbench.reliability(ratings, n_boot=10)
    assert "GiB" not in str(error.value) and "MiB" not in str(error.value)
    for level in ("nominal", "ordinal"):
        table = workbench.reliability(workbench.Ratings.from_matrix(data, level=level), n_boot=10)
        assert np.isfinite(table["ci_low"].iloc[0]) and table["ci_low"].iloc[0] < table["ci_high"].iloc[0], level


def test_ratio_beyond_the_pair_limit_is_a_data_error(monkeypatch):
    monkeypatch.setattr(kernels, "MAX_RATIO_PAIRS", 10_000)
    data = np.abs(np.random.default_rng(0).normal(size=(3, 200))) + 0.1
    with pytest.raises(WorkbenchDataError, match=r"distinct values.*level='interval'"):
        workbench.krippendorff_alpha(data, level_of_measurement="ratio")


def test_huge_count_table_is_a_data_error(monkeypatch):
    monkeypatch.setattr(kernels, "MAX_DENSE_BYTES", 1 << 12)
    ratings = workbench.Ratings.from_matrix(np.arange(600.0).reshape(3, 200), level="interval")
    with pytest.raises(WorkbenchDataError, match=r"200 × 600 table, too large to hold in memory; "):
        workbench.reliability(ratings, metric="percent_agreement", ci=None)


# ---------------------------------------------------------------- intervals at any number of categories (issue 23)
def _many_categories(n_items, n_values, seed=0, n_raters=3, agree=0.6):
    """``n_items`` items × ``n_raters`` ratings over ``n_values`` declared categories (a rater agrees with the item's
    own label with probability ``agree``, else picks any category): a rater × item matrix of category positions."""
    rng = np.random.default_rng(seed)
    own = rng.integers(0, n_values, n_items)
    data = np.where(rng.random((n_raters, n_items)) < agree, own, rng.integers(0, n_values, (n_raters, n_items))).astype(float)
    data[rng.random(data.shape) < 0.1] = np.nan  # some items with fewer ratings
    return data


def _package_interval(ratings, data, level, n_boot, seed, ci=0.95):
    """The percentile interval rebuilt naively: each replicate's data set built explicitly, alpha by the krippendorff package."""
    counts = workbench.analysis.reliability.bootstrap_weights(ratings, n_boot=n_boot, seed=seed, level=level)
    frame = ratings.to_frame()
    matrix = frame.pivot(index="rater_id", columns="item_id", values="label").reindex(columns=counts.columns)
    values = []
    for _, row in counts.iterrows():
        expanded = np.repeat(matrix.to_numpy(dtype=float), row.to_numpy(), axis=1)
        values.append(krippendorff.alpha(expanded, level_of_measurement=level))
    return np.quantile(values, [(1 - ci) / 2, (1 + ci) / 2])


@pytest.mark.parametrize("level", ["nominal", "ordinal"])
@pytest.mark.parametrize("n_values", [3_000, 100_000])
def test_interval_at_thousands_of_categories_equals_the_package_on_the_same_draws(level, n_values):
    """3,000 and 100,000 declared categories: the interval equals the krippendorff package's, replicate by replicate.

    (The package sees the values that occur; unused categories change neither nominal nor ordinal alpha.)
    """
    data = _many_categories(150, n_values, seed=n_values % 7)  # about 300 distinct values in use: the package is O(units × used²)
    ratings = workbench.Ratings.from_matrix(data, level=level, categories=list(range(n_values)))
    assert len(ratings.categories) == n_values
    table = workbench.reliability(ratings, n_boot=40, seed=5)
    assert table["value"].iloc[0] == pytest.approx(krippendorff.alpha(data, level_of_measurement=level), abs=1e-10)
    low, high = _package_interval(ratings, data, level, 40, 5)
    assert [table["ci_low"].iloc[0], table["ci_high"].iloc[0]] == pytest.approx([low, high], abs=1e-10)


@pytest.mark.parametrize("level", ["nominal", "ordinal"])
@pytest.mark.parametrize("options", [{}, {"by": "half"}, {"bootstrap": "poisson"}, {"interval": "bca", "by": "half"},
                                     {"resample": "raters"}, {"resample": "raters", "interval": "bca", "by": "half"}])
def test_replicates_from_sparse_entries_equal_the_coincidence_path(monkeypatch, level, options):
    """Few categories, where per-item V × V coincidences fit: the sparse replicate totals give the same intervals."""
    data = _many_categories(60, 7, seed=3, n_raters=5)
    ratings = workbench.Ratings.from_matrix(data, level=level)
    ratings.items["half"] = np.arange(ratings.n_items) % 2
    run = lambda: quiet(workbench.reliability, ratings, n_boot=60, seed=2, **options)[["value", "ci_low", "ci_high"]].to_numpy()
    dense, sparse = both_paths(monkeypatch, run)
    assert same(sparse, dense, tol=1e-12), (sparse, dense)


def test_replicate_chunks_do_not_change_the_interval(monkeypatch):
    import workbench.kernels.replicates as replicates

    data = _many_categories(300, 2_000, seed=1)
    ratings = workbench.Ratings.from_matrix(data, level="ordinal", categories=list(range(2_000)))
    whole = workbench.reliability(ratings, n_boot=30, seed=4)
    monkeypatch.setattr(replicates, "CHUNK_BYTES", 1)  # one replicate per chunk
    assert workbench.reliability(ratings, n_boot=30, seed=4).equals(whole)


_MEMORY_SCRIPT = """
import sys, numpy as np, workbench


def status(key):  # kB from /proc/self/status
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(key + ":"))


level, metric, n_items, n_values = sys.argv[1], sys.argv[2], 20_000, 3_000
workbench.reliability(workbench.Ratings.from_matrix([[0.0, 1.0], [0.0, 1.0]], level=level), metric=metric, n_boot=5)  # imports
rng = np.random.default_rng(0)
own = rng.integers(0, n_values, n_items)
data = np.where(rng.random((3, n_items)) < 0.6, own, rng.integers(0, n_values, (3, n_items))).astype(float)
ratings = workbench.Ratings.from_matrix(data, level=level, categories=list(range(n_values)))
ratings.codes
before = status("VmRSS")
open("/proc/self/clear_refs", "w").write("5")  # the peak (VmHWM) restarts from the current resident size
table = workbench.reliability(ratings, metric=metric, n_boot=200)
assert table["ci_low"].iloc[0] < table["value"].iloc[0] < table["ci_high"].iloc[0], table
print((status("VmHWM") - before) * 1024)
"""

#: Memory the public call (point value and 200-replicate interval) over 20,000 items × 3 ratings and 3,000 categories
#: may add to the resident size (bytes). Per-item coincidences would need 20,000 × 3,000 × 3,000 float64 (1.4 TB),
#: the kappa family's dense statistics 20,000 × 6,003; replicate totals need b × (E + V + R) per chunk.
#: Measured: alpha nominal +20 MB, ordinal +41 MB, Fleiss +26 MB; with every replicate in one chunk +235, +321 and
#: +235 MB; Fleiss through the dense per-item statistics +2.5 GB.
INTERVAL_BUDGET = 128 * 2**20


def _can_reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _can_reset_peak(), reason="needs Linux's /proc/self/clear_refs to reset the peak resident size")
@pytest.mark.parametrize("level, metric", [("nominal", "alpha"), ("ordinal", "alpha"), ("nominal", "fleiss")])
def test_interval_at_3000_categories_stays_within_a_memory_budget(level, metric):
    """The public call, in a fresh process: its peak resident memory exceeds the size before it by less than INTERVAL_BUDGET."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, level, metric], capture_output=True, text=True, check=True,
                          cwd=str(__import__("pathlib").Path(workbench.__file__).parents[1]))
    grown = int(done.stdout.split()[-1])
    assert grown < INTERVAL_BUDGET, f"{grown / 2**20:.0f} MiB"


# ---------------------------------------------------------------- the kappa family at any number of categories
KAPPAS = ["fleiss", "scott_pi", "gwet_ac1", "brennan_prediger"]


def _kappa_by_hand(matrix, metric, q):
    """Gwet's (2014) kappa family on a raters × items matrix (NaN: missing), written out in NumPy; q declared categories."""
    used, codes = np.unique(matrix[~np.isnan(matrix)], return_inverse=True)
    position = np.full(matrix.shape, -1)
    position[~np.isnan(matrix)] = codes
    r = np.stack([(position == k).sum(axis=0) for k in range(len(used))], axis=1).astype(float)  # items × used categories
    m = r.sum(axis=1)
    pairable = m >= 2
    p_a = ((r * (r - 1)).sum(axis=1)[pairable] / (m * (m - 1))[pairable]).mean()
    if metric == "scott_pi":
        pi = r[pairable].sum(axis=0) / m[pairable].sum()
    else:
        pi = (r[m > 0] / m[m > 0, None]).mean(axis=0)
    p_e = {"fleiss": (pi**2).sum(), "scott_pi": (pi**2).sum(), "gwet_ac1": (pi * (1 - pi)).sum() / (q - 1), "brennan_prediger": 1 / q}[metric]
    return (p_a - p_e) / (1 - p_e)


@pytest.mark.parametrize("metric", KAPPAS)
@pytest.mark.parametrize("n_values", [3_000, 100_000])
def test_kappa_interval_at_thousands_of_categories_equals_numpy_on_the_same_draws(metric, n_values):
    """No items × q table and no q × q weights: the interval equals a NumPy loop over the bootstrap's own draws."""
    data = _many_categories(150, n_values, seed=2)
    ratings = workbench.Ratings.from_matrix(data, level="nominal", categories=list(range(n_values)))
    table = workbench.reliability(ratings, metric=metric, n_boot=40, seed=5)
    assert table["value"].iloc[0] == pytest.approx(_kappa_by_hand(data, metric, n_values), abs=1e-12)
    counts = workbench.analysis.reliability.bootstrap_weights(ratings, n_boot=40, seed=5, metric=metric)
    matrix = ratings.to_frame().pivot(index="rater_id", columns="item_id", values="label").reindex(columns=counts.columns)
    values = [_kappa_by_hand(np.repeat(matrix.to_numpy(dtype=float), row.to_numpy(), axis=1), metric, n_values) for _, row in counts.iterrows()]
    assert [table["ci_low"].iloc[0], table["ci_high"].iloc[0]] == pytest.approx(np.quantile(values, [0.025, 0.975]), abs=1e-12)


@pytest.mark.parametrize("metric", KAPPAS)
@pytest.mark.parametrize("options", [{}, {"by": "half"}, {"bootstrap": "poisson"}, {"interval": "bca", "by": "half"},
                                     {"resample": "raters", "interval": "bca"}, {"counts_only": True, "interval": "bca"}])
def test_kappa_replicates_from_sparse_entries_equal_the_dense_path(monkeypatch, metric, options):
    import workbench.kernels.coefficients as coefficients

    options = dict(options)
    data = _many_categories(60, 7, seed=3, n_raters=5)
    ratings = workbench.Ratings.from_matrix(data, level="nominal")
    ratings.items["half"] = np.arange(ratings.n_items) % 2
    if options.pop("counts_only", False):
        ratings = workbench.Ratings.from_counts(ratings.label_counts())
    run = lambda: quiet(workbench.reliability, ratings, metric=metric, n_boot=60, seed=2, **options)[["value", "ci_low", "ci_high"]].to_numpy()
    dense = run()
    monkeypatch.setattr(coefficients, "COINCIDENCE_MAX_VALUES", 0)
    monkeypatch.setattr(kernels, "COINCIDENCE_MAX_VALUES", 0)
    assert same(run(), dense, tol=1e-12)


def test_weighted_kappa_over_too_many_categories_is_refused_in_plain_words(monkeypatch):
    monkeypatch.setattr(kernels, "MAX_DENSE_BYTES", 1 << 16)
    data = _many_categories(50, 200, seed=1)
    ratings = workbench.Ratings.from_matrix(data, level="ordinal", categories=list(range(200)))
    with pytest.raises(WorkbenchDataError, match=r"agreement weights over 200 categories .*too large to hold in memory; .*weights=None"):
        workbench.reliability(ratings, metric="fleiss", weights="quadratic", ci=None)
    assert np.isfinite(workbench.reliability(ratings, metric="fleiss", n_boot=20)["ci_low"].iloc[0])  # identity: sparse, fine


def test_cohen_over_too_many_categories_is_refused_in_plain_words(monkeypatch):
    monkeypatch.setattr(kernels, "MAX_DENSE_BYTES", 1 << 20)
    data = _many_categories(300, 100, seed=4, n_raters=2)
    data[np.isnan(data)] = 0.0
    ratings = workbench.Ratings.from_matrix(data, level="nominal", categories=list(range(100)))
    assert np.isfinite(workbench.reliability(ratings, metric="cohen", ci=None)["value"].iloc[0])
    with pytest.raises(WorkbenchDataError, match=r"Cohen's kappa tables .*too large to hold in memory; .*metric='scott_pi'"):
        workbench.reliability(ratings, metric="cohen", n_boot=10)
    assert np.isfinite(workbench.reliability(ratings, metric="scott_pi", n_boot=10)["ci_low"].iloc[0])
