"""Getting data in: format recognition, the column guesser, the checks before use, rater attributes, composite keys."""

import gzip
import json

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.data.recognise import check_mapping, composite_key, guess_mapping, is_row_number, rater_attributes, recognise
from workbench.data.sources import open_ratings
from workbench.errors import WorkbenchDataError

CONVABUSE_KEY = ["conv_id", "prev_agent", "prev_user", "agent", "user"]


def _long(n_items=40, per_item=3, n_raters=7, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [(f"it{i}", f"r{(i + j) % n_raters}", int(rng.integers(0, 3))) for i in range(n_items) for j in range(per_item)]
    return pd.DataFrame(rows, columns=["item", "annotator", "label"])


# -- the guesser on adversarial frames -------------------------------------------------------------------------


def test_row_numbers_are_never_chosen():
    frame = _long()
    frame.insert(0, "row", np.arange(len(frame)))
    frame.insert(1, "index1", np.arange(1, len(frame) + 1)[::-1])
    guess = guess_mapping(frame)
    assert (guess.item, guess.rater, guess.label) == (["item"], "annotator", "label")
    assert any("numbers the rows" in reason for reason in guess.reasons)


def test_neutral_names_are_guessed_from_the_shape_of_the_data():
    frame = _long(n_items=60).rename(columns={"item": "a", "annotator": "b", "label": "c"})
    guess = guess_mapping(frame[["c", "a", "b"]])
    assert (guess.item, guess.rater, guess.label) == (["a"], "b", "c")


def test_an_id_like_label_is_not_taken_for_the_label():
    frame = _long(n_items=60)
    frame["uuid"] = [f"u{k}" for k in range(len(frame))]  # unique per row: neither item nor label
    guess = guess_mapping(frame)
    assert guess.label == "label" and guess.item == ["item"]


def test_a_composite_key_is_found():
    frame = _long(n_items=30)
    frame["conv"] = frame["item"].str[2:].astype(int) // 3
    frame["turn"] = "turn " + (frame["item"].str[2:].astype(int) % 3).astype(str)
    guess = guess_mapping(frame.drop(columns="item"))
    assert sorted(guess.item) == ["conv", "turn"] and guess.rater == "annotator"


def test_the_guesser_refuses_too_few_columns():
    with pytest.raises(WorkbenchDataError, match="three columns"):
        guess_mapping(pd.DataFrame({"a": [1, 2], "b": [1, 2]}))


def test_is_row_number():
    assert is_row_number(pd.Series([4, 2, 3, 1, 0]))
    assert not is_row_number(pd.Series([0, 2, 3]))
    assert not is_row_number(pd.Series(["0", "1"]))


# -- the checks ------------------------------------------------------------------------------------------------


def test_one_rating_per_item_is_a_problem_and_nothing_else_is_claimed():
    frame = pd.DataFrame({"row": range(10), "who": list("ab") * 5, "y": range(10)})
    check = check_mapping(frame, "row", "who", "y")
    assert not check.ok
    assert check.problems == ["every item has one rating: agreement cannot be measured (is the item column right?)"]
    assert check.facts["items"] == "10" and check.facts["ratings per item (min / median / max)"] == "1 / 1 / 1"
    assert any("looks like a row number" in w for w in check.warnings)


def test_an_id_like_label_gets_a_warning():
    frame = _long(n_items=30)
    frame["label"] = np.arange(len(frame))
    check = check_mapping(frame, "item", "annotator", "label")
    assert check.ok and any("90 distinct values: is it an id?" in w for w in check.warnings)


def test_repeated_pairs_name_the_select_box_not_an_argument():
    frame = pd.concat([_long(), _long().head(2)])
    check = check_mapping(frame, "item", "annotator", "label")
    assert not check.ok and "'Repeated (item, rater) pairs'" in check.problems[0] and "duplicates=" not in check.problems[0]
    assert check_mapping(frame, "item", "annotator", "label", duplicates="first").ok


@pytest.mark.parametrize("item, rater, label, expected", [
    ("nope", "annotator", "label", "the file has no column 'nope'"),
    ("item", "item", "label", "column 'item' is chosen for two roles"),
    ([], "annotator", "label", "choose at least one item column"),
])
def test_mapping_mistakes_are_one_sentence(item, rater, label, expected):
    check = check_mapping(_long(), item, rater, label)
    assert not check.ok and check.problems[0].startswith(expected)


# -- composite keys ---------------------------------------------------------------------------------------------


def test_read_ratings_with_a_composite_item_key():
    frame = pd.DataFrame({"conv": [1, 1, 1, 1, 2, 2], "turn": [1, 1, 2, 2, 1, 1], "w": list("ababab"), "y": [0, 1, 1, 1, 0, 0]})
    ratings = workbench.read_ratings(frame, item=["conv", "turn"], rater="w", label="y")
    assert ratings.n_items == 3 and ratings.meta["item_key"] == ["conv", "turn"]
    assert ratings.items[["conv", "turn"]].values.tolist() == [[1, 1], [1, 2], [2, 1]]
    assert ratings.label_counts().values.tolist() == [[1, 1], [0, 2], [2, 0]]


def test_composite_keys_keep_missing_values_as_a_value():
    frame = pd.DataFrame({"a": [1, 1, 1], "b": [np.nan, np.nan, "x"]})
    assert composite_key(frame, ["a", "b"])["item_id"].tolist() == ["0", "0", "1"]
    with pytest.raises(WorkbenchDataError, match="item key column 'c'"):
        composite_key(frame, ["a", "c"])


# -- rater attributes -------------------------------------------------------------------------------------------


def test_rater_attributes_match_prefixed_ids_and_clean_names(tmp_path):
    path = tmp_path / "meta.json"
    path.write_text('{"0": {"Age": "31", "Ethnicity simplified": "White",}, "1": {"Age": "DATA_EXPIRED", "Ethnicity simplified": "Asian"},}')
    table, report = rater_attributes(path, pd.Index(["Ann0", "Ann1", "Ann2"]))
    assert list(table.columns) == ["age", "ethnicity_simplified"] and table.index.tolist() == ["Ann0", "Ann1"]
    assert table.loc["Ann0", "age"] == 31 and np.isnan(table.loc["Ann1", "age"])
    assert report == "2 of 3 raters matched, 2 attributes: age, ethnicity_simplified"


def test_rater_attributes_need_a_matching_key():
    with pytest.raises(WorkbenchDataError, match="matches the rater ids"):
        rater_attributes(pd.DataFrame({"id": ["x", "y"], "age": [1, 2]}), pd.Index(["a", "b"]))


def test_read_ratings_joins_a_rater_file(tmp_path):
    (tmp_path / "people.csv").write_text("annotator,group\nr0,young\nr1,old\nr2,old\n")
    ratings = workbench.read_ratings(_long(), item="item", rater="annotator", raters=tmp_path / "people.csv")
    assert ratings.raters["group"].to_dict()["r1"] == "old" and ratings.raters["group"].isna().sum() == 4
    assert ratings.meta["rater_attributes"].startswith("3 of 7 raters matched, 1 attributes: group")


# -- recognition ------------------------------------------------------------------------------------------------


def test_a_saved_study_is_recognised(tmp_path, demo):
    path = tmp_path / "study.parquet"
    demo.ratings.to_parquet(path)
    assert recognise(path).reader == "parquet"
    plain = tmp_path / "plain.parquet"
    _long().to_parquet(plain)
    assert recognise(plain) is None


def test_lewidi_json_is_recognised_by_content(tmp_path):
    path = tmp_path / "anything.json.gz"
    with gzip.open(path, "wt") as handle:
        json.dump({"1": {"annotators": "Ann1,Ann2", "annotations": "0,1", "soft_label": {"0": 0.5, "1": 0.5}}}, handle)
    assert "LeWiDi" in recognise(path).what


# -- the shared data sets as released -----------------------------------------------------------------------------

RECOGNISED = {
    "convabuse/ConvAbuseEMNLPfull.csv.gz": "convabuse",
    "multipico_lewidi2025/MP_dev.json.gz": "LeWiDi",
    "chaosnli/chaosNLI_snli.jsonl.gz": "chaosnli",
    "chaosnli/chaosNLI_mnli_m.jsonl.gz": "chaosnli",
    "hh_rlhf/harmless-base/test.jsonl.gz": "hh",
    "squality_human_eval/all-responses.jsonl.gz": "squality",
    "lewidi_2023/HS-Brexit_dev.json.gz": "LeWiDi",
    "lewidi_2025/CSC_dev.json.gz": "LeWiDi",
}


@pytest.mark.realdata
@pytest.mark.parametrize("name, reader", sorted(RECOGNISED.items()))
def test_each_shared_data_set_is_recognised(shared_data, name, reader):
    found = recognise(shared_data / name)
    assert found is not None and (found.reader == reader or reader in found.what)


@pytest.mark.realdata
def test_the_convabuse_csv_guess_finds_its_items(shared_data):
    frame = pd.read_csv(shared_data / "convabuse/ConvAbuseEMNLPfull.csv.gz")
    guess = guess_mapping(frame)
    assert guess.rater == "annotator_id" and set(guess.item) <= set(CONVABUSE_KEY) and "conv_id" in guess.item
    check = check_mapping(frame, guess.item, guess.rater, guess.label, duplicates="first")
    assert check.ok and check.facts["items"] == "4,185"  # DATA.md: 4,185 items
    nonsense = check_mapping(frame, "example_no", "annotator_id", "conv_id")
    assert not nonsense.ok and "every item has one rating" in nonsense.problems[0]


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["multipico_lewidi2025/MP_dev.json.gz", "squality_human_eval/all-responses.jsonl.gz",
                                  "convabuse/ConvAbuseEMNLPfull.csv.gz", "lewidi_2023/HS-Brexit_dev.json.gz"])
def test_the_guesser_recovers_each_data_set_from_its_long_table(shared_data, name):
    """Each data set's long table, under neutral column names and shuffled columns: the guess gives back the same items."""
    ratings = open_ratings(shared_data / name)
    frame = ratings.to_frame()[["item_id", "rater_id", "label"]]
    frame = frame.rename(columns={"item_id": "c1", "rater_id": "c2", "label": "c3"})[["c3", "c1", "c2"]]
    guess = guess_mapping(frame)
    assert (guess.item, guess.rater, guess.label) == (["c1"], "c2", "c3")


@pytest.mark.realdata
def test_multipico_with_its_annotator_file_through_open_ratings(shared_data):
    folder = shared_data / "multipico_lewidi2025"
    ratings = open_ratings(folder / "MP_dev.json.gz", raters=folder / "MP_annotators_meta.json.gz")
    assert (ratings.n_items, ratings.n_raters, ratings.n_ratings) == (3005, 506, 15178)
    assert {"gender", "age", "nationality", "ethnicity_simplified"} <= set(ratings.raters.columns)
    assert "LeWiDi" in ratings.meta["reader"]


@pytest.mark.realdata
def test_convabuse_split_files_read_as_long_ratings(shared_data):
    """The split files (one row per item, a column group per annotator) give the full file's ratings for their items."""
    full = open_ratings(shared_data / "convabuse/ConvAbuseEMNLPfull.csv.gz").to_frame()
    counts = {}
    for split in ("train", "valid", "test"):
        ratings = open_ratings(shared_data / f"convabuse/ConvAbuseEMNLP{split}.csv.gz")
        assert "split CSV" in ratings.meta["reader"] and ratings.n_raters <= 8
        counts[split] = (ratings.n_items, ratings.n_ratings)
        frame = ratings.to_frame()
        key = ["conv_id", "prev_agent", "prev_user", "agent", "user", "rater_id"]
        joined = frame.merge(full, on=key, suffixes=("", "_full"))
        # the same annotations (a handful of split rows differ from the full file in their texts and find no partner)
        assert len(joined) >= 0.995 * len(frame) and (joined["label"] == joined["label_full"]).all()
    assert counts == {"train": (2499, 7195), "valid": (831, 2385), "test": (853, 2482)}
