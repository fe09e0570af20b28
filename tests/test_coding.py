"""Ratings are coded once; the coded paths give what string-keyed pandas gives on the same table."""

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import workbench
from workbench import Ratings, WorkbenchDataError
from workbench.data.validate import code_ids, code_labels, find_duplicates


@st.composite
def long_tables(draw, max_rows=60):
    """Random long tables: int or text ids (repeated pairs likely), 1-4 text labels, an item and a rater column."""
    n = draw(st.integers(1, max_rows))
    n_items, n_raters = draw(st.integers(1, 8)), draw(st.integers(1, 6))
    item = draw(st.lists(st.integers(0, n_items - 1), min_size=n, max_size=n))
    rater = draw(st.lists(st.integers(0, n_raters - 1), min_size=n, max_size=n))
    label = draw(st.lists(st.sampled_from(["no", "maybe", "yes", "n/a"]), min_size=n, max_size=n))
    text_ids = draw(st.booleans())
    return pd.DataFrame({
        "item_id": [f"it{i}" for i in item] if text_ids else [i * 7 for i in item],
        "rater_id": [f"r{r}" for r in rater] if text_ids else rater,
        "label": label,
        "topic": [f"t{i % 3}" for i in item],
        "age": [20 + r for r in rater],
        "rationale": [f"why {k}" for k in range(n)],
    })


def reference(frame: pd.DataFrame, policy: str) -> pd.DataFrame:
    """The string-keyed reading: ids as text, repeats dropped by DataFrame.duplicated."""
    table = frame.assign(item_id=frame["item_id"].astype(str), rater_id=frame["rater_id"].astype(str))
    return table[~table.duplicated(["item_id", "rater_id"], keep=policy)].reset_index(drop=True)


@settings(max_examples=30, deadline=None)
@given(long_tables(), st.sampled_from(["first", "last"]))
def test_integer_duplicates_equal_string_duplicates(frame, policy):
    expected = reference(frame, policy)
    r = Ratings.from_frame(frame, duplicates=policy)
    got = r.ratings
    assert got[["item_id", "rater_id", "label", "rationale"]].equals(expected[["item_id", "rater_id", "label", "rationale"]])
    repeated = frame.assign(item_id=frame["item_id"].astype(str), rater_id=frame["rater_id"].astype(str)).duplicated(
        ["item_id", "rater_id"], keep=False)
    assert r.meta["duplicates_dropped"] == len(frame) - len(expected)
    if repeated.any():
        assert r.meta["repeated_pairs"] == frame[repeated].astype(str).drop_duplicates(["item_id", "rater_id"]).shape[0]
        with pytest.raises(WorkbenchDataError, match="repeat an"):
            Ratings.from_frame(frame)


@settings(max_examples=25, deadline=None)
@given(long_tables())
def test_coded_views_equal_string_keyed_views(frame):
    table = reference(frame, "first")
    r = Ratings.from_frame(frame, duplicates="first", item_columns=["topic"], rater_columns=["age"])
    # item and rater tables: first row of each id, ids in order of first appearance
    items = table.drop_duplicates("item_id").set_index("item_id")[["topic"]]
    raters = table.drop_duplicates("rater_id").set_index("rater_id")[["age"]]
    pd.testing.assert_frame_equal(r.items, items)
    pd.testing.assert_frame_equal(r.raters, raters)
    counts = pd.crosstab(table["item_id"], table["label"]).reindex(index=items.index, columns=sorted(set(table["label"])), fill_value=0)
    pd.testing.assert_frame_equal(r.label_counts(), counts, check_names=False, check_dtype=False)
    joined = table.drop(columns=["topic", "age"]).join(items, on="item_id").join(raters, on="rater_id")
    assert r.to_frame()[list(joined.columns)].equals(joined)


@settings(max_examples=25, deadline=None)
@given(long_tables(), st.sampled_from(["nominal", "ordinal"]))
def test_alpha_on_codes_equals_krippendorff_on_the_string_pivot(frame, level):
    table = reference(frame, "last")
    order = ["no", "maybe", "yes", "n/a"]
    r = Ratings.from_frame(frame, duplicates="last", level=level, categories=order if level == "ordinal" else None)
    matrix = table.assign(code=table["label"].map(order.index)).pivot(index="rater_id", columns="item_id", values="code")
    pairable = (matrix.notna().sum(axis=0) >= 2).any()
    distinct = table.loc[table["item_id"].map(table["item_id"].value_counts()) >= 2, "label"].nunique() >= 2
    value = workbench.reliability(r, level=level, ci=None)["value"].iloc[0]
    if pairable and distinct:
        expected = krippendorff.alpha(matrix.to_numpy(dtype=float), level_of_measurement=level, value_domain=range(4))
        assert value == pytest.approx(expected, abs=1e-9)
    else:
        assert np.isnan(value)


def test_codes_are_stable_and_in_order_of_first_appearance():
    frame = pd.DataFrame({"item_id": ["b", "a", "b", "c"], "rater_id": [2, 1, 1, 2], "label": ["y", "n", "n", "y"]})
    first, second = Ratings.from_frame(frame).codes, Ratings.from_frame(frame.copy()).codes
    for field in ("item", "rater", "value"):
        assert np.array_equal(getattr(first, field), getattr(second, field))
    assert first.item.tolist() == [0, 1, 0, 2] and list(first.items) == ["b", "a", "c"]
    assert first.rater.tolist() == [0, 1, 1, 0] and list(first.raters) == ["2", "1"]
    assert first.value.tolist() == [1, 0, 0, 1] and first.categories == ("n", "y")
    assert first.item.dtype == np.int32 and first.value.dtype == np.int32


def test_ordinal_codes_follow_declared_order_and_labels_come_back():
    frame = pd.DataFrame({"item_id": [1, 1, 2, 2], "rater_id": [1, 2, 1, 2], "label": ["high", "low", "mid", "high"]})
    r = workbench.read_ratings(frame, level="ordinal", categories=["low", "mid", "high"])
    assert r.codes.value.tolist() == [2, 0, 1, 2]
    labels = r.ratings["label"]
    assert list(labels.cat.categories) == ["low", "mid", "high"] and labels.cat.ordered
    assert labels.tolist() == ["high", "low", "mid", "high"]


def test_ids_become_text_once():
    codes, ids = code_ids(pd.Series([1.0, 2.0, 1.0]), "item")
    assert codes.tolist() == [0, 1, 0] and list(ids) == ["1", "2"]
    codes, ids = code_ids(pd.Series([1, "1", "x"], dtype=object), "item")  # equal as text: one id
    assert codes.tolist() == [0, 0, 1] and list(ids) == ["1", "x"]
    with pytest.raises(WorkbenchDataError, match="missing identifiers at row 1"):
        code_ids(pd.Series(["a", None]), "rater")


def test_mixed_objects_are_not_merged_by_hashing():
    """1, 1.0 and True hash equal; as labels they are different kinds and the error says so."""
    with pytest.raises(WorkbenchDataError, match=r"mixes label types.*bool labels are at row 1"):
        code_labels(pd.Series([1, True, 2, 3], dtype=object), "nominal", None)


def test_duplicate_report_names_first_repeated_pair():
    rows = pd.Index([10, 11, 12, 13])
    with pytest.raises(WorkbenchDataError, match=r"2 rows repeat.*item 'i1' rated by 'r0', at rows 11, 13"):
        find_duplicates(np.array([0, 1, 2, 1]), np.array([0, 0, 0, 0]), 1, "error", rows, lambda k: (f"i{[0, 1, 2, 1][k]}", "r0"))


def test_subset_keeps_codes_consistent():
    study = workbench.simulate_study(seed=1, n_items=50, ratings_per_item=4, n_raters=12)
    r = study.ratings
    chosen = list(r.raters.index[::2])
    small = r.subset(raters=chosen)
    expected = r.ratings[r.ratings["rater_id"].isin(chosen)].reset_index(drop=True)
    assert small.ratings.equals(expected)
    assert list(small.raters.index) == list(pd.unique(expected["rater_id"]))
    assert small.label_counts().sum().sum() == len(expected)


def test_trusted_constructor_refuses_unknown_ids():
    items = pd.DataFrame(index=pd.Index(["a"], name="item_id"))
    raters = pd.DataFrame(index=pd.Index(["x"], name="rater_id"))
    table = pd.DataFrame({"item_id": ["a", "b"], "rater_id": ["x", "x"], "label": ["A", "B"]})
    with pytest.raises(WorkbenchDataError, match="item 'b' is missing from the item table"):
        Ratings(table, items, raters, level="nominal", categories=("A", "B"))


# ---------------------------------------------------------------------- to_parquet round trip
def assert_same_ratings(a: Ratings, b: Ratings) -> None:
    assert repr(a) == repr(b) and a.level == b.level and a.categories == b.categories and a.meta == b.meta
    pd.testing.assert_frame_equal(a.items, b.items)
    pd.testing.assert_frame_equal(a.raters, b.raters)
    pd.testing.assert_frame_equal(a.ratings, b.ratings)
    for field in ("item", "rater", "value"):
        assert np.array_equal(getattr(a.codes, field), getattr(b.codes, field))


@pytest.mark.parametrize("level, labels, categories", [
    ("nominal", ["A", "B", "tie", "A", "B", "A"], None),
    ("nominal", [0, 1, 1, 0, 1, 1], None),
    ("ordinal", ["high", "low", "mid", "high", "low", "low"], ["low", "mid", "high", "top"]),
    ("ordinal", [3, 1, 2, 3, 1, 1], [3, 2, 1]),
    ("interval", [0.5, 1.25, 3.0, 0.5, -2.0, 7.0], None),
    ("ratio", [0.5, 1.25, 3.0, 0.5, 2.0, 7.0], None),
])
def test_to_parquet_round_trip(tmp_path, level, labels, categories):
    frame = pd.DataFrame({
        "item_id": [1, 1, 2, 2, 3, 3], "rater_id": ["x", "y", "x", "z", "y", "z"], "label": labels,
        "prompt": ["p1", "p1", "p2", "p2", "p3", "p3"], "age": [30, 40, 30, 50, 40, 50],
        "rationale": ["r1", None, "r3", "r4", "r5", "r6"], "score": [0.1, 0.2, np.nan, 0.4, 0.5, 0.6],
    })
    r = workbench.read_ratings(frame, level=level, categories=categories)
    path = tmp_path / "study.parquet"
    r.to_parquet(path)
    again = workbench.read_ratings(path)
    assert_same_ratings(r, again)
    pd.testing.assert_frame_equal(r.to_frame(), again.to_frame())
    assert workbench.reliability(again, ci=None)["value"].equals(workbench.reliability(r, ci=None)["value"])
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically, no temporary left


def test_to_parquet_keeps_side_table_dtypes_and_reads_chosen_columns(tmp_path):
    study = workbench.simulate_study(seed=2, n_items=40, ratings_per_item=3, n_raters=9)
    r = study.ratings
    r.raters["age_band"] = r.raters["age_band"].astype("category")
    path = tmp_path / "study.parquet"
    r.to_parquet(path)
    assert_same_ratings(r, workbench.read_ratings(path))
    light = workbench.read_ratings(path, columns=[])
    assert list(light.rating_columns.columns) == [] and light.label_counts().equals(r.label_counts())
    plain = pd.read_parquet(path)  # still a long table for other tools
    assert plain["item_id"].astype(str).tolist() == r.ratings["item_id"].tolist()


def test_saved_file_refuses_conflicting_options(tmp_path):
    path = tmp_path / "s.parquet"
    workbench.read_ratings(pd.DataFrame({"item_id": [1, 1], "rater_id": [1, 2], "label": [1, 2]}), level="ordinal").to_parquet(path)
    with pytest.raises(WorkbenchDataError, match="holds ordinal ratings saved by to_parquet"):
        workbench.read_ratings(path, level="nominal")
    with pytest.raises(WorkbenchDataError, match="item_columns= do not apply"):
        workbench.read_ratings(path, item_columns=[])
    counts = Ratings.from_counts(pd.DataFrame({"y": [3], "n": [1]}, index=["q"]))
    with pytest.raises(WorkbenchDataError, match="to_parquet needs rater-level ratings"):
        counts.to_parquet(tmp_path / "c.parquet")


def test_read_only_named_columns(tmp_path):
    frame = pd.DataFrame({"item_id": [1, 1], "rater_id": [1, 2], "label": ["a", "b"], "big": ["x", "y"], "keep": [1, 2]})
    for name, writer in (("f.parquet", lambda p: frame.to_parquet(p)), ("f.csv", lambda p: frame.to_csv(p, index=False))):
        writer(tmp_path / name)
        r = workbench.read_ratings(tmp_path / name, columns=["keep"])
        assert "big" not in r.to_frame().columns and "keep" in r.to_frame().columns
        with pytest.raises(WorkbenchDataError, match=r"missing column 'kep'.*did you mean 'keep'"):
            workbench.read_ratings(tmp_path / name, columns=["kep"])


def test_parquet_text_read_through_row_group_dictionaries_equals_frame(tmp_path):
    """Many row groups, each with its own dictionary: the shared codes equal those of the DataFrame."""
    rng = np.random.default_rng(0)
    n = 500
    frame = pd.DataFrame({
        "item_id": [f"it{k}" for k in rng.integers(0, 90, n)], "rater_id": [f"r{k}" for k in rng.integers(0, 30, n)],
        "label": rng.choice(["A", "B", "tie"], n), "note": [None if k % 7 == 0 else f"n{k % 11}" for k in range(n)],
    })
    frame["group"] = frame["rater_id"].map(lambda r: f"g{int(r[1:]) % 3}")
    path = tmp_path / "long.parquet"
    frame.to_parquet(path, row_group_size=37)
    from_file = workbench.read_ratings(path, duplicates="last")
    from_frame = workbench.read_ratings(frame, duplicates="last")
    assert_same_ratings(from_file.__class__._coded(from_file.codes, from_file.rating_columns, from_file.items,
                                                   from_file.raters, level="nominal", meta=from_frame.meta), from_frame)
    assert from_file.raters["group"].dtype == from_frame.raters["group"].dtype
    broken = frame.assign(rater_id=frame["rater_id"].where(frame.index != 40))
    broken.to_parquet(path, row_group_size=37)
    with pytest.raises(WorkbenchDataError, match="column 'rater_id' has missing identifiers at row 40"):
        workbench.read_ratings(path)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=1, max_size=40), st.integers(51, 400))
def test_slice_rows_by_presence_table_equal_sorted_hashing(keys, n_keys):
    from workbench.analysis.reliability import _rank

    key = np.array(keys, dtype=np.int64)
    expected_rank, expected_keys = pd.factorize(key, sort=True)
    rank, distinct = _rank(key, n_keys)
    assert np.array_equal(rank, expected_rank) and np.array_equal(distinct, expected_keys)


def test_pairs_on_codes_equal_string_crosstab():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"item_id": rng.integers(0, 40, 400), "rater_id": rng.integers(0, 25, 400),
                          "label": rng.choice(["A", "B", "tie"], 400, p=[0.5, 0.4, 0.1])})
    r = workbench.read_ratings(frame, duplicates="first")
    table = reference(frame, "first")
    counts = pd.crosstab(table["item_id"], table["label"]).reindex(index=r.items.index, columns=["A", "B", "tie"], fill_value=0)
    pairs = r.pairs()
    assert (pairs["n_a"] == counts["A"]).all() and (pairs["n_b"] == counts["B"]).all() and (pairs["n_tie"] == counts["tie"]).all()
    assert np.allclose(pairs["p_a"], (counts["A"] + counts["tie"] / 2) / counts.sum(axis=1))


def test_to_parquet_round_trip_over_many_row_groups(tmp_path, monkeypatch):
    """Written a row group at a time (side tables longer and shorter than a group): the same Ratings comes back."""
    import pyarrow.parquet as pq

    from workbench.data import io

    monkeypatch.setattr(io, "WRITE_BATCH_ROWS", 7)
    study = workbench.simulate_study(seed=3, n_items=12, ratings_per_item=4, n_raters=5)
    r = study.ratings
    path = tmp_path / "study.parquet"
    r.to_parquet(path)
    assert pq.ParquetFile(path).metadata.num_row_groups == -(-r.n_ratings // 7)
    again = workbench.read_ratings(path)
    assert_same_ratings(r, again)
    pd.testing.assert_frame_equal(r.to_frame(), again.to_frame())
    assert pd.read_parquet(path, columns=["item_id"])["item_id"].astype(str).tolist() == r.to_frame()["item_id"].astype(str).tolist()
