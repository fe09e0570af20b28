"""Each reader against the facts in shared/data/DATA.md (skipped when the data are absent)."""

import pytest

from workbench.datasets import read_chaosnli, read_convabuse, read_hh_pairs, read_multipico, read_squality
from workbench import WorkbenchDataError

pytestmark = pytest.mark.realdata


def test_convabuse(shared_data):
    r = read_convabuse(shared_data / "convabuse" / "ConvAbuseEMNLPfull.csv.gz")
    assert (r.n_items, r.n_raters, r.n_ratings) == (4185, 8, 12411)
    assert r.meta["repeated_pairs"] == 345 and r.meta["duplicates_dropped"] == 12768 - 12411
    distinct = r.ratings.groupby("item_id")["rater_id"].nunique().value_counts().to_dict()
    assert distinct == {2: 1094, 3: 2445, 4: 377, 5: 235, 6: 33, 7: 1}
    assert r.categories == (1, 0, -1, -2, -3) and r.level == "ordinal"
    assert r.items["bot"].value_counts().sum() == 4185
    assert set(r.raters.index) == {f"Annotator{k}" for k in range(1, 9)}
    flag = read_convabuse(shared_data / "convabuse" / "ConvAbuseEMNLPfull.csv.gz", label="abusive")
    assert flag.level == "nominal" and set(flag.ratings["label"]) == {0, 1}
    assert (flag.ratings["label"] == (r.ratings["severity"] < 0)).all()


def test_convabuse_keeps_all_rows_when_asked(shared_data):
    with pytest.raises(WorkbenchDataError, match="repeat an"):
        read_convabuse(shared_data / "convabuse" / "ConvAbuseEMNLPfull.csv.gz", duplicates="error")


def test_multipico_with_annotator_metadata(shared_data):
    folder = shared_data / "multipico_lewidi2025"
    r = read_multipico(folder / "MP_dev.json.gz", folder / "MP_annotators_meta.json.gz")
    assert (r.n_items, r.n_raters, r.n_ratings) == (3005, 506, 15178)
    assert r.ratings["label"].value_counts().to_dict() == {0: 10157, 1: 5021}
    per_item = r.raters_per_item()
    assert (per_item.min(), per_item.median(), per_item.max()) == (2, 5, 17)
    assert r.items["lang"].value_counts().to_dict() == {
        "es": 756, "en": 489, "ar": 363, "de": 358, "pt": 325, "fr": 276, "it": 159, "nl": 147, "hi": 132
    }
    assert r.raters["gender"].value_counts().to_dict() == {"Male": 274, "Female": 230, "Prefer not to say": 1}
    assert r.raters["gender"].isna().sum() == 1  # the one DATA_EXPIRED
    assert r.raters["student_status"].isna().sum() == 81  # DATA_EXPIRED is missing
    per_language = r.to_frame().groupby("lang")["rater_id"].nunique().to_dict()
    assert per_language == {"es": 122, "en": 74, "de": 70, "ar": 68, "fr": 50, "pt": 49, "nl": 25, "it": 24, "hi": 24}


@pytest.mark.parametrize("name, items", [("chaosNLI_snli.jsonl.gz", 1514), ("chaosNLI_mnli_m.jsonl.gz", 1599)])
def test_chaosnli_counts_only(shared_data, name, items):
    r = read_chaosnli(shared_data / "chaosnli" / name)
    assert r.n_items == items and r.n_ratings == 100 * items and not r.has_raters
    assert (r.raters_per_item() == 100).all()
    assert r.categories == ("e", "n", "c")


def test_hh_pairs(shared_data):
    r = read_hh_pairs(shared_data / "hh_rlhf" / "harmless-base" / "test.jsonl.gz")
    assert r.n_items == 2312 and r.n_ratings == 2312
    pairs = r.pairs()
    assert (pairs["n"] == 1).all() and (pairs["p_a"] == 1).all()
    assert (pairs["split"] == "harmless").all()
    assert (pairs["response_a"] != pairs["response_b"]).any()
    first = pairs.iloc[0]
    assert first["prompt"].startswith("\n\nHuman:") and "Assistant:" not in first["response_a"]


def test_squality(shared_data):
    r = read_squality(shared_data / "squality_human_eval" / "all-responses.jsonl.gz")
    assert (r.n_items, r.n_raters, r.n_ratings) == (300, 4, 900)
    assert (r.raters_per_item() == 3).all()
    assert r.ratings["rater_id"].value_counts().to_dict() == {"2": 225, "3": 225, "6": 225, "8": 225}
    ranks = read_squality(shared_data / "squality_human_eval" / "all-responses.jsonl.gz", label="overall-rank")
    assert ranks.level == "ordinal" and ranks.categories == (1, 2, 3)


def test_reader_errors_name_the_file(tmp_path):
    with pytest.raises(WorkbenchDataError, match="no such file"):
        read_convabuse(tmp_path / "missing.csv")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{}\n")
    with pytest.raises(WorkbenchDataError, match="lacks 'chosen'"):
        read_hh_pairs(bad)
