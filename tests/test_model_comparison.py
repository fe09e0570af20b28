"""The ModelComparison component without a browser: set parameters, run its jobs, read its outputs."""

import pandas as pd
import pytest

import workbench
from workbench.ui.models import ModelComparison, formatted_metrics, list_checkpoints
from workbench.ui.workspace import Workspace


@pytest.fixture(scope="module")
def study():
    return workbench.simulate_study(seed=4, n_items=150, ratings_per_item=5, n_raters=20)


def test_compare_fills_table_difference_and_verdict(study):
    view = ModelComparison(ratings=study.ratings, scores=study.scores, n_boot=100)
    assert view.param.selected.objects == ["rm-1", "rm-2", "rm-3", "rm-4", "rm-5"]
    view.param.update(selected=["rm-1", "rm-4"], by="split", model_a="rm-4", model_b="rm-1")
    view.compare(wait=True)
    assert set(view.table["split"]) == {"all", "harmless", "helpful"} and set(view.table["model"]) == {"rm-1", "rm-4"}
    assert set(view.difference["metric"]) >= {"accuracy", "pearson_r"}
    assert view.verdict_text.count("**") == 6  # one line per slice
    view.metric = "accuracy"
    assert "Δaccuracy" in view.verdict_text
    for view_of in (view.metrics_view, view.scatter_view, view.calibration_view, view.difference_view):
        assert view_of() is not None
    shown = formatted_metrics(view.table, "split")
    assert shown["accuracy"].str.match(r"^0\.\d{3} \[0\.\d\d, [01]\.\d\d\]$").all()
    assert view.__panel__() is not None


def test_store_scores_are_offered_and_errors_show_as_status(study, tmp_path):
    store = workbench.Store(tmp_path / "p.sqlite")
    one = study.scores[study.scores["model"] == "rm-2"].drop(columns="model")
    store.save_scores("from-store", one)
    view = ModelComparison(ratings=study.ratings, store=store, n_boot=50)
    assert view.param.selected.objects == ["from-store"]
    view.workspace.scores = {"broken": pd.DataFrame({"item_id": ["nope"], "p_a": [0.4]})}
    view.selected = ["from-store", "broken"]
    view.compare(wait=True)
    assert view.status.startswith("Comparing failed: no item is both rated") and not view.busy


def test_train_and_score_a_checkpoint_in_the_background(study, tmp_path):
    folder = tmp_path / "models"
    workbench.tiny_reward_model(folder / "tiny-bert")
    workbench.train_reward_model(study.ratings, epochs=20).save(folder / "saved-bt")
    (folder / "not-a-model").mkdir()
    assert list(list_checkpoints(folder)) == ["saved-bt", "tiny-bert"]
    workspace = Workspace(ratings=study.ratings, store=workbench.Store(tmp_path / "p.sqlite"))
    view = ModelComparison(workspace, model_folder=str(folder), n_boot=50)
    view.checkpoint = "tiny-bert"
    view.score_checkpoint(wait=True)
    assert "Scored tiny-bert" in view.status and "tiny-bert" in workspace.scores
    view.training = "with disagreement margin"
    view.train(wait=True)
    trained = "trained: margin (held out 20 %, seed 0)"
    assert view.status.startswith(f"Trained {trained} on 120 pairs") and trained in view.param.selected.objects
    assert "compared on held out: 30 items" in view.status
    view.param.update(selected=["tiny-bert", trained], model_a="tiny-bert", model_b=trained)
    view.compare(wait=True)
    accuracy = view.table.set_index("model")["accuracy"]
    assert accuracy[trained] > accuracy["tiny-bert"]  # a trained model beats a random one, on items it never saw
    assert set(view.table["n_items"]) == {30}  # both compared on the held-out items only
    view.checkpoint = "tiny-bert"
    view.score_checkpoint(wait=True)
    assert ", 0 truncated" in view.status and " 0 from the cache" not in view.status


def test_figures_have_titles_axis_labels_and_intervals(study):
    import holoviews as hv

    view = ModelComparison(ratings=study.ratings, scores=study.scores, n_boot=50)
    assert view.forest_view().object == ""  # nothing drawn before a comparison: no empty axes
    view.param.update(selected=["rm-1", "rm-4"], by="split", metric="accuracy")
    view.compare(wait=True)
    forest = view.forest_view().object
    options = forest.opts.get().kwargs
    assert options["title"] == "accuracy per split and model (95 % interval)"
    assert options["ylabel"].startswith("accuracy (share of pairs")  # the value axis (the plot is turned sideways)
    bars = [element for element in forest if isinstance(element, hv.ErrorBars)]
    assert sum(len(b) for b in bars) == len(view.table)  # one interval per slice and model
    hv.render(forest, backend="bokeh")
    diagram, counts = (pane.object for pane in view.calibration_view().objects)
    assert diagram.opts.get().kwargs["title"].startswith("Calibration")
    assert counts.opts.get().kwargs["ylabel"] == "items in the bin (count)"
    assert counts.dframe().groupby("model")["n_items"].sum().to_dict() == {"rm-1": study.ratings.n_items, "rm-4": study.ratings.n_items}
    hv.render(diagram, backend="bokeh"), hv.render(counts, backend="bokeh")


def test_a_metric_with_nothing_to_draw_is_a_sentence(study):
    view = ModelComparison(ratings=study.ratings, scores=study.scores, n_boot=20)
    view.param.update(selected=["rm-1"], metric="accuracy")
    view.compare(wait=True)
    view.table = view.table.assign(accuracy=float("nan"))
    assert view.forest_view().object.startswith("*No accuracy to draw")


def test_wide_tables_scroll_sideways(study):
    view = ModelComparison(ratings=study.ratings, scores=study.scores, n_boot=20)
    view.param.update(selected=["rm-1", "rm-2"])
    view.compare(wait=True)
    table = view.metrics_view().objects[1]
    assert "overflow-x: auto" in table.object and "alpha_with_model" in table.object
