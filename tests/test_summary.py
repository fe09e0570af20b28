"""rater_attribute_summary (the Overview's rater table and `workbench info`) against pandas computed here."""

import numpy as np
import pandas as pd

import workbench
from workbench.analysis.summary import rater_attribute_summary


def _ratings(raters: pd.DataFrame) -> workbench.Ratings:
    rows = [("q1", rater, "x") for rater in raters.index]
    frame = pd.DataFrame(rows, columns=["item_id", "rater_id", "label"]).join(raters, on="rater_id")
    return workbench.Ratings.from_frame(frame, rater_columns=list(raters.columns))


def test_numbers_with_many_values_are_summarised_by_quartiles_and_labels_are_counted():
    ages = np.arange(20, 40, dtype=float)  # 20 distinct values > top
    ages[3] = np.nan  # 19 ages left: 20, 21, 22, 24, …, 39 (quartiles by linear interpolation)
    raters = pd.DataFrame({"age": ages, "region": ["EU"] * 12 + ["US"] * 6 + [None] * 2},
                          index=pd.Index([f"r{k:02d}" for k in range(20)], name="rater_id"))
    table = rater_attribute_summary(_ratings(raters))
    assert table.to_dict("records") == [
        {"attribute": "age", "value": "min 20.0 · q1 25.5 · median 30.0 · q3 34.5 · max 39.0", "raters": 19},
        {"attribute": "region", "value": "EU", "raters": 12},
        {"attribute": "region", "value": "US", "raters": 6},
        {"attribute": "region", "value": "(missing)", "raters": 2},
    ]


def test_many_labels_keep_the_top_and_count_the_rest():
    raters = pd.DataFrame({"country": [f"c{k % 5}" for k in range(15)] + ["c0"] * 5},
                          index=pd.Index([f"r{k:02d}" for k in range(20)], name="rater_id"))
    table = rater_attribute_summary(_ratings(raters), top=2)
    assert table.to_dict("records") == [
        {"attribute": "country", "value": "c0", "raters": 8},
        {"attribute": "country", "value": "c1", "raters": 3},
        {"attribute": "country", "value": "… 3 more values", "raters": 9},
    ]


def test_data_without_rater_attributes_give_an_empty_table():
    counts = workbench.Ratings.from_counts(pd.DataFrame({"x": [3, 1], "y": [0, 2]}, index=["q1", "q2"]))
    assert rater_attribute_summary(counts).columns.tolist() == ["attribute", "value", "raters"]
    assert rater_attribute_summary(counts).empty
