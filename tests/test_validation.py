"""Every bad input gives a WorkbenchDataError naming the column, value or rows."""

import gzip

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench import WorkbenchDataError


def base(**changes):
    frame = pd.DataFrame({"item_id": ["a", "a", "b", "b"], "rater_id": ["x", "y", "x", "y"], "label": [1, 2, 2, 2]})
    for column, values in changes.items():
        frame[column] = values
    return frame


def test_missing_column_suggests_spelling():
    with pytest.raises(WorkbenchDataError, match=r"missing column 'lable'.*did you mean 'label'"):
        workbench.read_ratings(base(), label="lable")


def test_empty_table():
    with pytest.raises(WorkbenchDataError, match="empty"):
        workbench.read_ratings(base().iloc[:0])


def test_duplicates_error_names_rows_and_policies():
    frame = pd.concat([base(), base().iloc[[1]]], ignore_index=True)
    with pytest.raises(WorkbenchDataError, match=r"repeat an \(item, rater\) pair.*'a'.*'y'.*rows 1, 4.*duplicates='first'"):
        workbench.read_ratings(frame)


@pytest.mark.parametrize("policy, expected", [("first", 2), ("last", 9)])
def test_duplicates_policy_keeps_one(policy, expected):
    frame = pd.concat([base(), base().iloc[[1]].assign(label=9)], ignore_index=True)
    r = workbench.read_ratings(frame, duplicates=policy)
    assert r.n_ratings == 4
    assert r.ratings.set_index(["item_id", "rater_id"]).loc[("a", "y"), "label"] == expected
    assert r.meta["duplicates_dropped"] == 1 and r.meta["repeated_pairs"] == 1


def test_unknown_duplicates_policy():
    with pytest.raises(WorkbenchDataError, match="duplicates policy 'keep'"):
        workbench.read_ratings(base(), duplicates="keep")


def test_nan_labels_named():
    with pytest.raises(WorkbenchDataError, match=r"column 'label' has missing \(NaN\) labels at row 2"):
        workbench.read_ratings(base(label=[1, 2, np.nan, 2]))


def test_mixed_label_types_named():
    with pytest.raises(WorkbenchDataError, match=r"mixes label types.*text labels are at row 3"):
        workbench.read_ratings(base(label=[1, 2, 2, "two"]))


def test_labels_outside_ordinal_categories():
    with pytest.raises(WorkbenchDataError, match=r"outside the declared categories \[1, 2\]: 7 at row 3"):
        workbench.read_ratings(base(label=[1, 2, 2, 7]), level="ordinal", categories=[1, 2])


def test_text_labels_for_interval_level():
    with pytest.raises(WorkbenchDataError, match=r"must hold numbers for the interval level.*'good'"):
        workbench.read_ratings(base(label=["good", "bad", "good", "bad"]), level="interval")


def test_negative_ratio_labels():
    with pytest.raises(WorkbenchDataError, match="non-negative"):
        workbench.read_ratings(base(label=[1, -2, 2, 2]), level="ratio")


def test_unknown_level_suggests():
    with pytest.raises(WorkbenchDataError, match=r"unknown level of measurement 'ordnial' \(did you mean 'ordinal'\?\)"):
        workbench.read_ratings(base(), level="ordnial")


def test_missing_ids_named():
    with pytest.raises(WorkbenchDataError, match=r"column 'rater_id' has missing identifiers at row 1"):
        workbench.read_ratings(base(rater_id=["x", None, "x", "y"]))


def test_not_a_dataframe():
    with pytest.raises(WorkbenchDataError, match="file path or a DataFrame"):
        workbench.read_ratings([1, 2, 3])


def test_parquet_named_csv(tmp_path):
    path = tmp_path / "ratings.csv"
    base().to_parquet(path)
    with pytest.raises(WorkbenchDataError, match=r"named \.csv but holds binary data"):
        workbench.read_ratings(path)


def test_csv_named_parquet(tmp_path):
    path = tmp_path / "ratings.parquet"
    base().to_csv(path, index=False)
    with pytest.raises(WorkbenchDataError, match="not a Parquet file"):
        workbench.read_ratings(path)


def test_fake_gzip(tmp_path):
    path = tmp_path / "ratings.csv.gz"
    path.write_text(base().to_csv(index=False))
    with pytest.raises(WorkbenchDataError, match="not gzip-compressed"):
        workbench.read_ratings(path)


def test_bad_jsonl_line(tmp_path):
    path = tmp_path / "ratings.jsonl"
    path.write_text('{"item_id": 1, "rater_id": 1, "label": 1}\n{oops\n')
    with pytest.raises(WorkbenchDataError, match="line 2 is not valid JSON"):
        workbench.read_ratings(path)


def test_unknown_extension(tmp_path):
    path = tmp_path / "ratings.xlsx"
    path.write_text("x")
    with pytest.raises(WorkbenchDataError, match="cannot tell the format"):
        workbench.read_ratings(path)


@pytest.mark.parametrize("writer, name", [
    (lambda f, p: f.to_csv(p, index=False), "r.csv"),
    (lambda f, p: f.to_csv(p, index=False, sep="\t"), "r.tsv"),
    (lambda f, p: f.to_parquet(p), "r.parquet"),
    (lambda f, p: f.to_json(p, orient="records", lines=True), "r.jsonl"),
    (lambda f, p: p.write_bytes(gzip.compress(f.to_csv(index=False).encode())), "r.csv.gz"),
])
def test_every_format_reads_the_same(tmp_path, writer, name):
    frame = base(rationale=["because", "no", "hm", "ok"])
    writer(frame, tmp_path / name)
    r = workbench.read_ratings(tmp_path / name, level="ordinal", categories=[1, 2, 3])
    assert r.n_ratings == 4 and r.ratings["rationale"].tolist() == ["because", "no", "hm", "ok"]


def test_counts_must_be_whole_non_negative():
    with pytest.raises(WorkbenchDataError, match=r"column 'n' has -1 at item 'q'"):
        workbench.Ratings.from_counts(pd.DataFrame({"y": [1], "n": [-1]}, index=["q"]))


def test_ragged_matrix():
    with pytest.raises(WorkbenchDataError, match="rectangular|2-D"):
        workbench.Ratings.from_matrix([[1, 2, 3], [1, 2]])
