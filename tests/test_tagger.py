"""The Tagger component without a browser: set parameters, click buttons, read the store."""

import re

import pandas as pd
import pytest

import workbench
from workbench import Store
from workbench.ui.workspace import Workspace


@pytest.fixture(scope="module")
def ratings():
    return workbench.simulate_study(seed=1, n_items=25, ratings_per_item=5, n_raters=12).ratings


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "p.sqlite")


def _click(tagger, value):
    """Click the scheme button of ``value`` as a browser would."""
    for row in tagger._buttons.objects:
        button = row.objects[0]
        if button.label.endswith(value):
            button.clicks += 1
            return
    raise AssertionError(f"no button for {value!r}")


def test_clicking_a_value_writes_a_row_and_advances(ratings, store):
    workspace = Workspace(ratings=ratings, store=store)
    tagger = workbench.Tagger(workspace=workspace, tagger="ana")
    expected = workbench.tag_queue(ratings, store, "subjectivity", tagger="ana")["item_id"].tolist()
    assert tagger.queue == expected and tagger.item_id == expected[0]
    tagger.note = "surface facts"
    _click(tagger, "manifest")
    history = store.tag_history()
    assert history[["item_id", "scheme", "value", "tagger", "note"]].values.tolist() == [
        [expected[0], "subjectivity", "manifest", "ana", "surface facts"]
    ]
    assert tagger.item_id == expected[1] and tagger.note == "" and workspace.tag_revision == 1
    assert tagger.progress() == (1, ratings.n_items)
    assert "**1 / 25** items tagged" in tagger._progress_text.object
    tagger.previous()
    assert tagger.item_id == expected[0]
    assert tagger._current.object["value"].tolist() == ["manifest"]
    tagger.undo()
    assert store.current_tags().empty and len(store.tag_history()) == 2 and tagger.progress() == (0, 25)


def test_no_tagging_without_a_name(ratings, store):
    tagger = workbench.Tagger(ratings=ratings, store=store)
    _click(tagger, "manifest")
    assert store.tag_history().empty and "Enter your name" in tagger.message and tagger._alert.visible
    tagger.tagger = "ben"
    _click(tagger, "latent_pattern")
    assert store.tag_history()["tagger"].tolist() == ["ben"] and not tagger._alert.visible


def test_multi_choice_clicks_toggle_and_stay(ratings, store):
    tagger = workbench.Tagger(ratings=ratings, store=store, scheme="unreliability_source", tagger="ana")
    item = tagger.item_id
    _click(tagger, "mislabeling")
    _click(tagger, "both_harmful")
    _click(tagger, "mislabeling")  # a second click removes it (a new row)
    assert tagger.item_id == item
    assert store.tag_history()["action"].tolist() == ["add", "add", "remove"]
    assert store.current_tags("unreliability_source")["value"].tolist() == ["both_harmful"]


def test_scheme_switch_rebuilds_the_buttons(ratings, store):
    tagger = workbench.Tagger(ratings=ratings, store=store, tagger="ana")
    tagger.scheme = "plurality"
    # outside a served page (a notebook, here) the number keys do nothing, so neither the labels nor the text offer them
    assert [row.objects[0].label for row in tagger._buttons.objects] == ["single_correct", "multiple_correct"]
    assert "keys" not in tagger._description.object
    item = tagger.item_id
    _click(tagger, "multiple_correct")
    assert store.current_tags()[["item_id", "scheme", "value"]].values.tolist() == [[item, "plurality", "multiple_correct"]]


def test_a_second_tagger_sees_the_first_ones_tag(ratings, store):
    ana = workbench.Tagger(ratings=ratings, store=store, tagger="ana", strategy="random")
    ben = workbench.Tagger(ratings=ratings, store=store, tagger="ben", strategy="random")
    assert ana.item_id == ben.item_id
    item = ana.item_id
    _click(ana, "latent_projective")
    ben.next()
    ben.previous()  # moving to an item reads the store again
    assert ben._current.object[["tagger", "value"]].values.tolist() == [["ana", "latent_projective"]]
    _click(ben, "manifest")
    assert store.current_tags(item_id=item, per_tagger=True)["tagger"].tolist() == ["ana", "ben"]
    assert ben.progress() == (1, 25)


def test_queue_strategies_and_skip(ratings, store):
    tagger = workbench.Tagger(ratings=ratings, store=store, tagger="ana")
    tagger.by = "age_band"
    tagger.strategy = "divergence"
    expected = workbench.tag_queue(ratings, store, "subjectivity", strategy="divergence", by="age_band", tagger="ana")
    assert tagger.queue == expected["item_id"].tolist() and tagger.position == 0
    assert list(tagger._labels.object.index)[0] == "all raters" and any("age_band = " in i for i in tagger._labels.object.index)
    first = tagger.item_id
    tagger.skip()
    assert tagger.queue[-1] == first and tagger.item_id == expected["item_id"].iloc[1]


def test_without_a_store_the_tab_says_how_to_start(ratings):
    pane = workbench.Tagger(ratings=ratings).__panel__()
    assert "workbench serve --store project.sqlite" in pane.object


def test_a_tagger_for_a_replaced_data_set_stops_listening(ratings, store):
    workspace = Workspace(ratings=ratings, store=store)
    old = workbench.Tagger(workspace=workspace, tagger="ana")
    workspace.ratings = workbench.simulate_study(seed=2, n_items=10, ratings_per_item=3, n_raters=6).ratings
    new = workbench.Tagger(workspace=workspace, tagger="ana")
    before = old._progress_text.object
    _click(new, "manifest")
    workspace.tags_changed()
    assert old._progress_text.object == before and "**1 / 10**" in new._progress_text.object


def test_undo_takes_back_the_last_tag_after_the_view_moved_on(ratings, store):
    tagger = workbench.Tagger(ratings=ratings, store=store, tagger="ana")
    first = tagger.item_id
    _click(tagger, "manifest")
    second = tagger.item_id
    _click(tagger, "latent_pattern")
    assert tagger.item_id not in (first, second)  # the view has moved on twice
    tagger.undo()  # takes back the tag on the second item, and shows it again
    assert store.current_tags()[["item_id", "value"]].values.tolist() == [[first, "manifest"]]
    assert tagger.item_id == second and "Undone" in tagger.message and tagger._alert.alert_type == "success"
    tagger.undo()  # and then the one before it
    assert store.current_tags().empty and tagger.item_id == first
    tagger.undo()
    assert "Nothing to undo" in tagger.message and len(store.tag_history()) == 4  # append-only: 2 tags, 2 undos
    assert tagger._alert.alert_type == "warning"


def test_undo_leaves_another_taggers_tags_alone(ratings, store):
    tagger = workbench.Tagger(ratings=ratings, store=store, tagger="ana")
    _click(tagger, "manifest")
    tagger.tagger = "ben"
    tagger.undo()
    assert "Nothing to undo" in tagger.message and store.current_tags()["tagger"].tolist() == ["ana"]


def test_current_tags_show_minutes_and_no_none(ratings, store):
    tagger = workbench.Tagger(ratings=ratings, store=store, tagger="ana")
    item = tagger.item_id
    _click(tagger, "manifest")
    tagger.previous()
    assert tagger.item_id == item
    shown = tagger._current.object
    assert shown["note"].tolist() == ["—"]
    assert shown.columns.tolist() == ["tagger", "value", "note", "time (UTC)"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", shown["time (UTC)"].iloc[0])


def test_ids_and_item_columns_read_as_in_the_data(store):
    # ConvAbuse's conv_id is written 27941.0 in its CSV and kept as text: it reads 27941 in the Tagger
    frame = pd.DataFrame({"item_id": [7, 7, 7], "rater_id": ["a", "b", "c"], "label": ["A", "B", "B"],
                          "conv_id": ["27941.0"] * 3, "user": ["hello"] * 3})
    ratings = workbench.Ratings.from_frame(frame, item_columns=["conv_id", "user"])
    tagger = workbench.Tagger(ratings=ratings, store=store, tagger="ana")
    assert "`7`" in tagger._header.object
    # the normalised entropy, in words: 1 B of 3 is not an even split
    assert "label entropy 0.92 (normalised: 0 = all raters agree, 1 = an even split)" in tagger._header.object
    shown = {pane.objects[0].object: pane.objects[1].object for pane in tagger._text.objects}
    assert shown["**conv_id**"].endswith(">27941</div>") and shown["**user**"].endswith(">hello</div>")
    tagger.param.update(strategy="random")
    assert "random order" in tagger._header.object
