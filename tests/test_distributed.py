"""The dask engine gives the in-memory numbers: on a 2-worker LocalCluster, over uneven partitions.

A random study of 10⁵ ratings (rows shuffled, so every item is spread over several partitions) is
read both ways; alpha at four levels, per-slice alpha, Poisson intervals for 1, 3 and 7
partitions, the item table and group-divergence JSD must agree to 1e-9. Bad input on a worker
surfaces as WorkbenchDataError on the client; a worker that dies mid-computation gives the same
answer after Dask's retry, or a ClusterError, never a partial one.
"""

import os

import numpy as np
import pandas as pd
import pytest

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

import workbench  # noqa: E402
from workbench.distributed import ClusterError  # noqa: E402

N_ITEMS, PER_ITEM, N_RATERS = 10_000, 10, 400


def _frame(seed: int = 0) -> pd.DataFrame:
    """10⁵ ratings on a 1–5 scale: item lean + rater noise; topic (item), group (rater, one missing), mode (rating)."""
    rng = np.random.default_rng(seed)
    item = np.repeat(np.arange(N_ITEMS), PER_ITEM)
    rater = np.concatenate([rng.choice(N_RATERS, PER_ITEM, replace=False) for _ in range(N_ITEMS)])
    lean = rng.uniform(1, 5, N_ITEMS)[item] + np.where(rater % 4 == 0, 1.0, 0.0) * (item % 7 == 0)
    label = np.clip(np.rint(lean + rng.normal(0, 0.9, len(item))), 1, 5).astype(np.int64)
    group = np.array(["g0", "g1", "g2", None], dtype=object)[np.minimum(rater % 4, 3 - (rater == 5))]
    frame = pd.DataFrame({"item": [f"q{i}" for i in item], "rater": rater, "score": label,
                          "topic": np.array(["a", "b", "c"])[item % 3], "group": group,
                          "mode": np.where(rng.random(len(item)) < 0.3, "fast", "slow")})
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


FRAME = _frame()
COLUMNS = {"item_columns": ["topic"], "rater_columns": ["group"]}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("parquet")


def _uneven(frame: pd.DataFrame, n_partitions: int, folder, name: str = "study"):
    """``frame`` as a folder of ``n_partitions`` Parquet files of very different sizes, read by Dask (a partition per file)."""
    sizes = np.geomspace(1, 8, n_partitions)
    cuts = np.concatenate([[0], np.cumsum(sizes / sizes.sum() * len(frame))]).astype(int)
    cuts[-1] = len(frame)
    path = folder / f"{name}-{n_partitions}"
    if not path.exists():
        path.mkdir()
        for k, (lo, hi) in enumerate(zip(cuts[:-1], cuts[1:])):
            frame.iloc[lo:hi].to_parquet(path / f"part{k}.parquet")
    return dd.read_parquet(str(path))


@pytest.fixture(scope="module")
def client():
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def memory():
    return workbench.read_ratings(FRAME, item="item", rater="rater", label="score", level="ordinal", **COLUMNS)


@pytest.fixture(scope="module")
def dist(client, folder):
    source = _uneven(FRAME, 5, folder)
    return workbench.read_ratings(source, item="item", rater="rater", label="score", level="ordinal", engine="dask", **COLUMNS)


def _same(a: pd.DataFrame, b: pd.DataFrame, columns=("value", "ci_low", "ci_high"), tol=1e-9):
    assert a.drop(columns=list(columns)).equals(b.drop(columns=list(columns)))
    assert np.allclose(a[list(columns)].to_numpy(dtype=float), b[list(columns)].to_numpy(dtype=float), rtol=0, atol=tol, equal_nan=True)


def test_reading_infers_the_item_and_rater_columns(client, memory, folder):
    dist = workbench.read_ratings(_uneven(FRAME, 3, folder), item="item", rater="rater", label="score", level="ordinal", engine="dask")
    assert dist.item_columns == ["topic"] and dist.rater_columns == ["group"] and dist.rating_columns == ["mode"]
    assert dist.n_ratings == memory.n_ratings and dist.categories == memory.categories
    assert list(dist.raters.index) == list(memory.raters.index)  # raters in order of first appearance, as in memory
    assert dist.raters["group"].fillna("-").tolist() == memory.raters["group"].fillna("-").tolist()


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_alpha_at_every_level_equals_memory(dist, memory, level):
    _same(workbench.reliability(dist, level=level, ci=None), workbench.reliability(memory, level=level, ci=None))


@pytest.mark.parametrize("by", ["topic", "group", "mode"])
def test_alpha_per_slice_equals_memory(dist, memory, by):
    _same(workbench.reliability(dist, by=by, ci=None), workbench.reliability(memory, by=by, ci=None))


def test_numeric_labels_and_percent_agreement(client, folder):
    frame = FRAME.assign(score=FRAME["score"] * 0.5)
    memory = workbench.read_ratings(frame, item="item", rater="rater", label="score", level="interval", **COLUMNS)
    dist = workbench.read_ratings(_uneven(frame, 4, folder, 'half'), item="item", rater="rater", label="score", level="interval", engine="dask", **COLUMNS)
    for level in ("interval", "ratio", "ordinal"):
        _same(workbench.reliability(dist, level=level, by="group", ci=None), workbench.reliability(memory, level=level, by="group", ci=None))
    _same(workbench.reliability(dist, metric="percent_agreement", ci=None), workbench.reliability(memory, metric="percent_agreement", ci=None))


@pytest.mark.parametrize("n_partitions", [1, 3, 7])
def test_poisson_interval_equals_memory_for_any_partitioning(client, memory, folder, n_partitions):
    dist = workbench.read_ratings(_uneven(FRAME, n_partitions, folder), item="item", rater="rater", label="score", level="ordinal",
                                  engine="dask", **COLUMNS)
    expected = workbench.reliability(memory, by="topic", n_boot=60, seed=3, bootstrap="poisson")
    table = workbench.reliability(dist, by="topic", n_boot=60, seed=3)
    _same(table, expected)
    assert table.attrs["bootstrap"] == "poisson" and (table["ci_low"] < table["ci_high"]).all()


def test_item_table_is_written_by_the_workers_and_equals_memory(dist, memory, tmp_path):
    written = workbench.item_table(dist, path=tmp_path / "items")
    assert len(list((tmp_path / "items").glob("*.parquet"))) == written.npartitions >= 1  # a dataset, one file per partition
    table = written.compute().sort_index()
    expected = workbench.item_table(memory).sort_index()
    assert list(table.columns) == list(expected.columns) and table.index.equals(expected.index)
    numbers = [c for c in expected.columns if c not in ("majority", "tied")]
    assert np.allclose(table[numbers].to_numpy(dtype=float), expected[numbers].to_numpy(dtype=float), rtol=0, atol=1e-9, equal_nan=True)
    for column in ("majority", "tied"):
        assert table[column].astype(object).where(table[column].notna(), None).tolist() == \
            expected[column].astype(object).where(expected[column].notna(), None).tolist()


def test_group_divergence_equals_memory(dist, memory):
    table = workbench.group_divergence(dist, by="group", n_perm=100, seed=4)
    expected = workbench.group_divergence(memory, by="group", n_perm=100, seed=4)
    assert table["item_id"].equals(expected["item_id"]) and table["group"].equals(expected["group"])
    assert np.allclose(table["jsd"], expected["jsd"], rtol=0, atol=1e-9, equal_nan=True)
    assert np.array_equal(table["p_value"], expected["p_value"], equal_nan=True)  # the same permutations, item by item
    assert table.attrs["overall"]["p_value"] == expected.attrs["overall"]["p_value"]
    assert abs(table.attrs["overall"]["value"] - expected.attrs["overall"]["value"]) < 1e-12
    with pytest.raises(workbench.WorkbenchDataError, match="is an item column"):
        workbench.group_divergence(dist, by="topic")


def test_bad_input_on_a_worker_is_a_data_error(client, folder):
    bad = FRAME.copy()
    bad.loc[70_000, "score"] = 9  # in the last partition only (rows count from 0 in each file)
    with pytest.raises(workbench.WorkbenchDataError, match=r"outside the declared categories .*: 9 at row \d+ \(partition 2\)"):
        workbench.read_ratings(_uneven(bad, 3, folder, "bad"), item="item", rater="rater", label="score", level="ordinal",
                               categories=[1, 2, 3, 4, 5], engine="dask", **COLUMNS)
    missing = FRAME.astype({"score": float})
    missing.loc[80_000, "score"] = np.nan
    with pytest.raises(workbench.WorkbenchDataError, match=r"missing \(NaN\) labels at row \d+ \(partition 2\)"):
        workbench.read_ratings(_uneven(missing, 3, folder, "missing"), item="item", rater="rater", label="score", engine="dask", **COLUMNS)
    repeated = pd.concat([FRAME, FRAME.iloc[[10]]], ignore_index=True)
    with pytest.raises(workbench.WorkbenchDataError, match="2 rows repeat an \\(item, rater\\) pair"):
        workbench.read_ratings(_uneven(repeated, 3, folder, 'repeated'), item="item", rater="rater", label="score", engine="dask", **COLUMNS)
    with pytest.raises(workbench.WorkbenchDataError, match="missing column 'vote'"):
        workbench.read_ratings(_uneven(FRAME, 2, folder), item="item", rater="rater", label="vote", engine="dask")


def test_unavailable_options_say_so(dist):
    for options in ({"metric": "fleiss"}, {"resample": "raters"}, {"interval": "bca"}, {"bootstrap": "multinomial"}):
        with pytest.raises(workbench.WorkbenchDataError, match="not available on the dask engine"):
            workbench.reliability(dist, **options)


def _die_once(part: pd.DataFrame, marker: str, partition_info=None) -> pd.DataFrame:
    """Kill this worker process the first time partition 1 is computed (the marker file remembers)."""
    if partition_info and partition_info["number"] == 1 and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return part


def _always_die(part: pd.DataFrame, partition_info=None) -> pd.DataFrame:
    if partition_info and partition_info["number"] == 1:
        os._exit(1)
    return part


def test_a_worker_killed_mid_computation(client, memory, folder, tmp_path):
    parquet = _uneven(FRAME, 3, folder)
    source = parquet.map_partitions(_die_once, str(tmp_path / "died"), meta=parquet._meta)
    dist = workbench.read_ratings(source, item="item", rater="rater", label="score", level="ordinal", engine="dask", **COLUMNS)
    assert (tmp_path / "died").exists()  # a worker died while reading, and Dask ran its task again
    _same(workbench.reliability(dist, by="group", ci=None), workbench.reliability(memory, by="group", ci=None))
    doomed = parquet.map_partitions(_always_die, meta=parquet._meta)
    with pytest.raises(ClusterError, match="lost the workers .* nothing was returned"):
        workbench.read_ratings(doomed, item="item", rater="rater", label="score", engine="dask", **COLUMNS)
    client.wait_for_workers(2, timeout=60)


def test_without_a_client_the_error_says_how_to_start_one(monkeypatch):
    monkeypatch.setattr(distributed, "default_client", lambda: (_ for _ in ()).throw(ValueError("no client")))
    with pytest.raises(workbench.WorkbenchDataError, match="needs a running distributed.Client"):
        workbench.read_ratings(FRAME, item="item", rater="rater", label="score", engine="dask")
