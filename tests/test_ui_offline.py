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


def test_the_holoviews_extension_skips_the_notebook_archive_and_nbformat_imports_after():
    """HoloViews' notebook extension imports nbformat only for ``hv.archive``; that import was most of a notebook's
    first cell. Inside the block it fails as the extension expects; after it nbformat imports as usual."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys\n"
        "from workbench.ui import resources\n"
        "assert 'nbformat' not in sys.modules, 'importing the workbench UI imported nbformat'\n"
        "with resources._without_notebook_archive():\n"
        "    try:\n"
        "        import nbformat\n"
        "        print('imported')\n"
        "    except ImportError:\n"
        "        print('skipped')\n"
        "import nbformat\n"
        "print(nbformat.__name__)\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                          env={**__import__("os").environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["skipped", "nbformat"]
