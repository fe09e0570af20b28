"""The data picker without a browser: recognised files, guessed mappings, checks that block a nonsense mapping."""

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.ui.data_picker import DataPicker, split_uploads
from workbench.ui.workspace import Workspace


@pytest.fixture
def picker():
    return DataPicker(workspace=Workspace(ratings=workbench.simulate_study(n_items=20, ratings_per_item=3, n_raters=6).ratings))


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def test_a_nonsense_mapping_is_blocked_and_nothing_changes(picker):
    before = picker.workspace.ratings
    frame = pd.DataFrame({"example_no": range(60), "conv": np.repeat(np.arange(20), 3), "annotator": list("abc") * 20,
                          "label": np.tile([0, 1, 1], 20)})
    picker.load_upload("x.csv", _csv(frame))
    assert picker.item_columns == ["conv"] and not picker._load.disabled
    picker.param.update(item_columns=["example_no"], label_column="conv")
    assert picker._load.disabled and "every item has one rating" in picker.preview
    picker._guard(picker.apply_mapping)
    assert picker.workspace.ratings is before and picker.message.startswith("⚠ every item has one rating")


def test_a_rater_file_uploaded_beside_the_ratings_is_joined(picker):
    frame = pd.DataFrame({"item": np.repeat(np.arange(10), 2), "annotator": list("ab") * 10, "y": [0, 1] * 10})
    people = pd.DataFrame({"annotator": ["a", "b"], "Age Group": ["young", "old"]})
    picker.load_files(["ratings.csv", "annotators.csv"], [_csv(frame), _csv(people)])
    picker.apply_mapping()
    assert picker.workspace.ratings.raters["age_group"].to_dict() == {"a": "young", "b": "old"}
    assert "2 of 2 raters matched, 1 attributes: age_group" in picker.message


def test_an_unexpected_reader_failure_is_one_sentence(picker, tmp_path):
    picker._guard(picker.load_files, ["broken.json"], [b'{"1": {"annotations": 5, "annotators": "a"}}'])
    assert picker.message.startswith("⚠") and "Traceback" not in picker.message and "Error" not in picker.message


def test_split_uploads_by_recognition_name_and_size(tmp_path):
    big, small = tmp_path / "a.csv", tmp_path / "b.csv"
    big.write_text("x\n" * 100), small.write_text("x\n")
    assert split_uploads([small, big]) == (big, small)
    named = tmp_path / "rater_meta.csv"
    named.write_text("x\n" * 1000)
    assert split_uploads([big, named]) == (big, named)
    with pytest.raises(workbench.WorkbenchDataError, match="at most one rater-attributes file"):
        split_uploads([big, small, named])
