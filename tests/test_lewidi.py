"""The LeWiDi reader against the facts in shared/data/DATA.md, and its errors on malformed files."""

import gzip
import json
import warnings

import numpy as np
import pandas as pd
import pytest

from workbench import WorkbenchDataError
from workbench.datasets import READERS, lewidi_soft_labels, read_lewidi, read_multipico

# file stem → (items, distinct annotators, ratings) as DATA.md gives them
COUNTS = {
    "lewidi_2023/ArMIS_train": (657, 3, 657 * 3),
    "lewidi_2023/ArMIS_dev": (141, 3, 141 * 3),
    "lewidi_2023/ArMIS_test": (145, 3, 145 * 3),
    "lewidi_2023/ConvAbuse_train": (2398, 8, 7144),
    "lewidi_2023/ConvAbuse_dev": (812, 8, 2414),
    "lewidi_2023/ConvAbuse_test": (840, 8, 2610),
    "lewidi_2023/HS-Brexit_train": (784, 6, 784 * 6),
    "lewidi_2023/HS-Brexit_dev": (168, 6, 168 * 6),
    "lewidi_2023/MD-Agreement_train": (6592, 670, 6592 * 5),
    "lewidi_2023/MD-Agreement_dev": (1104, 534, 1104 * 5),
    "lewidi_2023/MD-Agreement_test": (3057, 246, 3057 * 5 - 1),  # Ann448 is listed twice on item 2038
    "lewidi_2025/CSC_dev": (704, 850, 3186),
    "lewidi_2025/Paraphrase_train": (400, 4, 1600),
    "lewidi_2025/Paraphrase_dev": (50, 4, 200),
    "lewidi_2025/Paraphrase_test": (50, 4, 200),
    "lewidi_2025/VariErrNLI_train": (388, 4, 1443),
    "lewidi_2025/VariErrNLI_dev": (50, 4, 181),
    "lewidi_2025/VariErrNLI_test": (50, 4, 192),
    "multipico_lewidi2025/MP_dev": (3005, 506, 15178),
}


def _meta(shared_data, stem):
    folder, name = stem.split("/")
    dataset = name.rsplit("_", 1)[0]
    path = shared_data / folder / f"{dataset}_annotators_meta.json.gz"
    return path if path.is_file() else None


def _read(shared_data, stem):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(trailing commas|listed twice)")
        return read_lewidi(shared_data / f"{stem}.json.gz", _meta(shared_data, stem))


def _shares(ratings):
    """Exact label shares per item from the ratings (per-label presence shares for a multi-label file)."""
    frame = ratings.ratings
    if "multilabel" in ratings.meta:
        return frame.groupby("item_id")[list(ratings.meta["multilabel"])].mean()
    counts = ratings.label_counts()
    return counts.div(counts.sum(axis=1), axis=0)


@pytest.mark.realdata
@pytest.mark.parametrize("stem", sorted(COUNTS))
def test_every_file_reads_with_the_published_counts(shared_data, stem):
    r = _read(shared_data, stem)
    assert (r.n_items, r.n_raters, r.n_ratings) == COUNTS[stem]
    assert r.items.index.is_unique and set(r.items["split"]) == {stem.rsplit("_", 1)[1]}
    assert "lang" in r.items.columns


@pytest.mark.realdata
@pytest.mark.parametrize("stem", sorted(COUNTS))
def test_label_shares_are_the_released_soft_labels(shared_data, stem):
    r = _read(shared_data, stem)
    released = lewidi_soft_labels(shared_data / f"{stem}.json.gz")
    shares = _shares(r)
    if r.meta["lewidi"] == "ConvAbuse":  # the released soft label is binary: 1 = abusive (severity −3…−1)
        abusive = r.ratings.groupby("item_id")["abusive"].mean()
        shares = pd.DataFrame({0: 1 - abusive, 1: abusive})
    elif r.meta["lewidi"] == "MultiPICo":  # keyed "0.0"/"1.0"
        released.columns = [int(c) for c in released.columns]
    released = released.loc[shares.index, list(shares.columns)]
    if stem.endswith("MD-Agreement_test"):  # the release counts the repeated annotator twice
        shares, released = shares.drop("2038"), released.drop("2038")
    # the 2025 release rounds to two decimals (a few VariErrNLI shares to three), 2023 to two
    assert np.abs(shares.to_numpy() - released.to_numpy()).max() <= 0.005 + 1e-12


@pytest.mark.realdata
def test_hs_brexit_groups_and_other_tasks(shared_data):
    r = read_lewidi(shared_data / "lewidi_2023/HS-Brexit_dev.json.gz")
    assert r.level == "nominal" and r.categories == (0, 1)
    assert r.raters["group"].to_dict() == {"Ann1": "target", "Ann2": "target", "Ann3": "target",
                                           "Ann4": "control", "Ann5": "control", "Ann6": "control"}
    assert set(r.rating_columns.columns) >= {"aggressive", "offensive"}
    assert set(r.ratings["offensive"]) == {0, 1}
    raw = json.load(gzip.open(shared_data / "lewidi_2023/HS-Brexit_dev.json.gz", "rt"))
    first = next(iter(raw))
    offensive = [int(v) for v in raw[first]["other_info"]["other annotations"]["offensive language detection"].split(",")]
    assert r.ratings.loc[r.ratings["item_id"] == first, "offensive"].tolist() == offensive
    as_offensive = read_lewidi(shared_data / "lewidi_2023/HS-Brexit_dev.json.gz", label="offensive")
    assert as_offensive.ratings["label"].tolist() == r.ratings["offensive"].tolist()
    assert as_offensive.ratings["main_label"].tolist() == r.ratings["label"].tolist()


@pytest.mark.realdata
def test_hs_brexit_train_reads_its_two_words_among_the_numbers(shared_data):
    r = read_lewidi(shared_data / "lewidi_2023/HS-Brexit_train.json.gz")
    assert r.meta["recoded"] == [("426", "Ann2", "offensive", "No"), *r.meta["recoded"][1:]] and len(r.meta["recoded"]) == 2
    assert r.ratings["offensive"].dtype.kind == "i" and r.ratings["offensive"].sum() == 1021
    assert r.ratings.set_index(["item_id", "rater_id"]).loc[("426", "Ann2"), "offensive"] == 0


@pytest.mark.realdata
def test_armis_groups(shared_data):
    r = read_lewidi(shared_data / "lewidi_2023/ArMIS_train.json.gz")
    assert r.raters["group"].to_dict() == {"Ann1": "Moderate_Female", "Ann2": "Liberal_Female", "Ann3": "Conservative_Male"}


@pytest.mark.realdata
def test_scales_are_ordinal_in_scale_order(shared_data):
    csc = _read(shared_data, "lewidi_2025/CSC_dev")
    par = _read(shared_data, "lewidi_2025/Paraphrase_dev")
    conv = _read(shared_data, "lewidi_2023/ConvAbuse_dev")
    assert (csc.level, csc.categories) == ("ordinal", (1, 2, 3, 4, 5, 6))
    assert (par.level, par.categories) == ("ordinal", tuple(range(-5, 6)))
    assert (conv.level, conv.categories) == ("ordinal", (-3, -2, -1, 0, 1))
    assert {"prev_agent", "prev_user", "agent", "user", "bot"} <= set(conv.items.columns)
    meta = json.load(gzip.open(shared_data / "lewidi_2025/CSC_annotators_meta.json.gz", "rt"))
    known = {k for k, v in meta.items() if v["Gender"] in ("Male", "Female")}  # the rest: "nan", DATA_EXPIRED, CONSENT_REVOKED
    assert csc.raters["age"].dtype.kind == "f"
    assert set(csc.raters.index[csc.raters["gender"].notna()]) == known & set(csc.raters.index)
    assert set(par.raters.columns) == {"gender", "age", "nationality", "education"}
    assert par.rating_columns["rationale"].notna().all()


@pytest.mark.realdata
def test_variErrNLI_keeps_every_label_of_every_answer(shared_data):
    path = shared_data / "lewidi_2025/VariErrNLI_dev.json.gz"
    r = _read(shared_data, "lewidi_2025/VariErrNLI_dev")
    raw = json.load(gzip.open(path, "rt"))
    assert r.meta["multilabel"] == ("contradiction", "entailment", "neutral")
    frame = r.ratings
    # every (item, annotator, NLI label) of the release, and nothing else
    ours = {(i, a, lab) for i, a, s in frame[["item_id", "rater_id", "label"]].itertuples(index=False) for lab in s.split(",")}
    theirs = {(i, a, lab) for i, e in raw.items() for a, s in e["annotations"].items() for lab in s.split(",")}
    assert ours == theirs
    # the annotators field lists an annotator once per label: the release's "number of annotations"
    assert frame["n_labels"].sum() == sum(e["number of annotations"] for e in raw.values()) == 187
    twice = frame[frame["n_labels"] == 2]
    assert len(twice) == 6 and (twice[["contradiction", "entailment", "neutral"]].sum(axis=1) == 2).all()
    row = frame[(frame["item_id"] == "49807") & (frame["rater_id"] == "Ann2")].iloc[0]
    assert row["label"] == "entailment,neutral" and (row["entailment"], row["neutral"], row["contradiction"]) == (1, 1, 0)
    assert "\n" in row["rationale"]  # both of Ann2's explanations are kept


@pytest.mark.realdata
def test_multipico_alias_and_cli_registry(shared_data):
    folder = shared_data / "multipico_lewidi2025"
    a = read_multipico(folder / "MP_dev.json.gz")
    b = read_lewidi(folder / "MP_dev.json.gz")
    assert a.to_frame().equals(b.to_frame())
    assert READERS["lewidi"] is read_lewidi


@pytest.mark.realdata
def test_cli_reads_a_lewidi_file(shared_data, capsys):
    from workbench.cli import main

    assert main(["info", str(shared_data / "lewidi_2023/HS-Brexit_dev.json.gz"), "--format", "lewidi"]) == 0
    assert "1008" in capsys.readouterr().out
    folder = shared_data / "lewidi_2025"
    assert main(["info", str(folder / "CSC_dev.json.gz"), "--raters", str(folder / "CSC_annotators_meta.json.gz")]) == 0
    out = capsys.readouterr().out  # recognised from its content, the annotator file as rater attributes
    assert "3186" in out and "gender" in out
    assert main(["info", str(shared_data / "lewidi_2023/ArMIS_dev.json.gz"), "--format", "lewidi", "--label", "nope"]) == 2
    assert "label='nope' is not a rating column" in capsys.readouterr().err


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_trailing_commas_are_read_with_a_warning_naming_the_file(tmp_path):
    path = _write(tmp_path, "x_dev.json", '{"1": {"annotation task": "irony detection", "annotators": "Ann1,Ann2",'
                  ' "annotations": {"Ann1": "1", "Ann2": "0",}, "split": "dev", "lang": "en",},}')
    with pytest.warns(UserWarning, match="'x_dev.json' is not strict JSON"):
        r = read_lewidi(path)
    assert r.n_ratings == 2 and r.categories == (0, 1)


def test_other_malformed_json_names_file_and_position(tmp_path):
    path = _write(tmp_path, "broken.json", '{"1": {"annotations": {"Ann1": "1"\n "Ann2": "0"}}}')
    with pytest.raises(WorkbenchDataError, match=r"'broken.json' is not valid JSON: .* line 2, column 2"):
        read_lewidi(path)


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(WorkbenchDataError, match="no such file"):
        read_lewidi(tmp_path / "absent.json")
    path = _write(tmp_path, "a.json", '{"7": {"annotation task": "hate speech detection", "annotators": "Ann1,Ann2", "annotations": "1"}}')
    with pytest.raises(WorkbenchDataError, match="item '7' in 'a.json' lists 2 annotators but 1 annotations"):
        read_lewidi(path)
    path = _write(tmp_path, "b.json", '{"7": {"annotation task": "sarcasm detection", "annotators": "Ann1", "annotations": {"Ann1": "9"}}}')
    with pytest.raises(WorkbenchDataError, match=r"label '9' \(item '7', annotator 'Ann1'\) is not on the CSC scale"):
        read_lewidi(path)
    path = _write(tmp_path, "c.json", '{"7": {"annotation task": "natural language inference", "annotators": "Ann1",'
                  ' "annotations": {"Ann1": "maybe"}}}')
    with pytest.raises(WorkbenchDataError, match="NLI label 'maybe'"):
        read_lewidi(path)
    path = _write(tmp_path, "d.json", '{"7": {"text": "no annotations"}}')
    with pytest.raises(WorkbenchDataError, match="item '7' in 'd.json' has no 'annotations'"):
        read_lewidi(path)
    path = _write(tmp_path, "e.json", '{"7": {"annotation task": "hate speech detection", "annotators": "Ann1", "annotations": "1"}}')
    with pytest.raises(WorkbenchDataError, match="label='nope' is not a rating column"):
        read_lewidi(path, label="nope")


@pytest.mark.realdata
def test_convabuse_binary_label_is_the_released_soft_label(shared_data):
    path = shared_data / "lewidi_2023/ConvAbuse_dev.json.gz"
    r = read_lewidi(path, label="abusive")
    assert r.level == "nominal" and r.categories == (0, 1)
    assert (r.ratings["label"] == (r.ratings["severity"].astype(int) < 0)).all()
    released = lewidi_soft_labels(path)
    shares = r.distribution()
    assert np.abs(shares[1] - released.loc[shares.index, 1]).max() <= 0.005 + 1e-12


def test_an_unknown_task_reads_as_nominal(tmp_path):
    path = _write(tmp_path, "new.json", json.dumps({
        "a": {"annotation task": "stance", "annotators": "Ann1,Ann2", "annotations": {"Ann1": "pro", "Ann2": "con"},
              "lang": "en", "split": "dev", "other_info": {"topic": {"name": "x"}}}}))
    r = read_lewidi(path)
    assert (r.level, r.categories, r.meta["lewidi"]) == ("nominal", ("con", "pro"), "stance")
    assert r.items.loc["a", "topic_name"] == "x"
