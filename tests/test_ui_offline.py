"""Components rendered as in a notebook link no stylesheet from a CDN, before or after an update.

JupyterLab itself is driven in tests/test_jupyterlab.py (slow, needs Chromium); this checks the Bokeh
models the kernel sends, in a second.
"""

import pytest

pn = pytest.importorskip("panel")


def _linked_stylesheets(model) -> set[str]:
    """URLs of the stylesheets every element under ``model`` links (``data:`` URLs are the CSS itself)."""
    from bokeh.models import ImportedStyleSheet, UIElement

    return {sheet.url for element in model.select({"type": UIElement}) for sheet in element.stylesheets
            if isinstance(sheet, ImportedStyleSheet) and not sheet.url.startswith("data:")}


def test_a_notebook_tagger_keeps_its_stylesheets_inline_after_next(tmp_path):
    import workbench
    from panel.io.state import state

    workbench.extension()
    study = workbench.simulate_study(n_items=20, ratings_per_item=3, n_raters=6)
    tagger = workbench.Tagger(ratings=study.ratings, store=workbench.Store(tmp_path / "p.sqlite"), tagger="ana")
    view = pn.panel(tagger)
    _, metadata = view._repr_mimebundle_()  # what a notebook cell's output does
    _, model, _, _ = state._views[metadata["application/vnd.holoviews_exec.v0+json"]["id"]]
    assert _linked_stylesheets(model) == set()
    tagger.next()  # new panes and a Markdown's new text: Panel re-sends their stylesheets
    assert "Item 2 of" in tagger._header.object
    assert _linked_stylesheets(model) == set()
    view._cleanup(model)


def test_stylesheets_outside_panel_dist_are_left_alone():
    from workbench.ui.resources import _data_url

    assert _data_url("../package.json") is None and _data_url("css/no-such-file.css") is None
    assert _data_url("css/markdown.css").startswith("data:text/css;base64,")
