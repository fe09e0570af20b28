"""The curated notebooks in a real JupyterLab, driven by headless Chromium: every cell runs, every Panel
output renders as a live Bokeh view, one widget reacts, and no request leaves localhost.

Needs the ``[notebook]`` extra (jupyterlab, jupyter_bokeh, ipywidgets), Playwright and /usr/bin/chromium;
skips cleanly without them. The notebooks run on copies in a temporary folder (JupyterLab saves).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from browser import CHROMIUM, FLAGS, free_port, needs_chromium

pytest.importorskip("jupyterlab")
pytest.importorskip("jupyter_bokeh")
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = needs_chromium

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
#: JupyterLab settings for the test: no news prompt; every cell kept in the DOM (no windowing), so outputs can be checked.
SETTINGS = {
    "@jupyterlab/apputils-extension/notification": '{"fetchNews": "false", "checkForUpdates": false}',
    "@jupyterlab/notebook-extension/tracker": '{"windowingMode": "none"}',
}
#: A cell's result rendered by Bokeh (a Panel view): JupyterLab marks results, Bokeh marks its roots.
PANEL_OUTPUT = ".jp-OutputArea-executeResult:has([data-root-id])"


@contextmanager
def jupyter_lab(root: Path, home: Path):
    """``jupyter lab`` on a free localhost port with a token of ours, serving ``root``; yields ``(url, token)``."""
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    for plugin, settings in SETTINGS.items():
        path = home / "settings" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(settings)
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
               "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log_path = home / "lab.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"jupyter lab did not start:\n{log_path.read_text()[-3000:]}") from None
                    time.sleep(0.5)
            yield url, token
        finally:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving copies of the curated notebooks; yields ``(url, token, folder)``."""
    home = tmp_path_factory.mktemp("lab")
    root = home / "notebooks"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    with jupyter_lab(root, home) as (url, token):
        yield url, token, root


@pytest.fixture(scope="module")
def chromium():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


RUN_ALL = """async () => {
    const app = window.jupyterapp;
    const panel = app.shell.currentWidget;
    await panel.sessionContext.ready;
    await app.commands.execute('notebook:run-all-cells');
}"""

FINISHED = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const kernel = panel.sessionContext.session?.kernel;
    const cells = Array.from(panel.model.cells).filter(cell => cell.type === 'code');
    return kernel?.status === 'idle' && cells.every(cell => cell.executionCount !== null)
        && !panel.content.widgets.some(cell => cell.promptNode?.textContent?.includes('*'));
}"""

OUTPUTS = """() => Array.from(window.jupyterapp.shell.currentWidget.model.cells)
    .flatMap(cell => cell.type === 'code' ? Array.from({length: cell.outputs.length}, (_, i) => cell.outputs.get(i).toJSON()) : [])"""
ERRORS = f"() => ({OUTPUTS})().filter(o => o.output_type === 'error').map(o => `${{o.ename}}: ${{o.evalue}}`)"
PANEL_RESULTS = f"() => ({OUTPUTS})().filter(o => o.output_type === 'execute_result' && 'application/vnd.holoviews_exec.v0+json' in o.data).length"


def _open_and_run(browser, url: str, token: str, name: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    outside: list[str] = []
    page.on("request", lambda request: None if request.url.startswith((f"{url}/", "data:", "blob:", "about:"))
            else outside.append(request.url))
    page.goto(f"{url}/lab/tree/{name}?token={token}&reset")
    page.wait_for_function("() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel", timeout=60_000)
    page.evaluate(RUN_ALL)
    page.wait_for_function(FINISHED, timeout=240_000, polling=500)
    return page, outside


def _select_18_to_34(output):
    """01: choose a rater group in the Select; the bound Overview is rebuilt in the kernel and pushed back."""
    output.locator("canvas").nth(1).wait_for(timeout=30_000)  # both plots drew (their titles are on canvas)
    output.locator("select").first.select_option("18-34")  # the notebook's own Select (the Overview has one too)
    output.get_by_text("Krippendorff's alpha (nominal): 0.236").wait_for(timeout=60_000)  # the group's alpha, as in the table above
    output.get_by_text("89", exact=True).first.wait_for(timeout=10_000)  # its raters


def _next_item(output):
    """04: "Next ▶" shows the queue's second item (Panel then builds new panes in the kernel and pushes them)."""
    output.get_by_text("Item 1 of").first.wait_for(timeout=30_000)
    output.get_by_role("button", name="Next ▶").click()
    output.get_by_text("Item 2 of").first.wait_for(timeout=30_000)


def _regroup_by_region(output):
    """03: group the Explorer's raters by region; the item table and the tests follow."""
    output.locator(".tabulator-row").first.wait_for(timeout=30_000)
    output.locator("select", has=output.page.locator("option[value=region]")).first.select_option("region")
    output.get_by_text("Europe", exact=True).first.wait_for(timeout=60_000)


def _switch_off_flips(output):
    """05: switching the flip rule off sets the flips to 0 at once."""
    output.get_by_text(re.compile(r"^[1-9]\d* flipped · ")).first.wait_for(timeout=60_000)
    output.locator("input[type=checkbox]").first.uncheck()  # rule 1, flip
    output.get_by_text(re.compile(r"^0 flipped · \d+ dropped · \d+ kept")).first.wait_for(timeout=60_000)


def _compare(output):
    """06: "Compare" fills the metrics table and the verdict."""
    output.get_by_role("button", name="Compare").click()
    output.get_by_text("agrees with people better").first.wait_for(timeout=120_000)


#: Per notebook with Panel outputs: texts they must show once live, and one interaction (output index, action).
#: A new notebook adds its entry here.
LIVE = {
    "01_quickstart.ipynb": (["ratings per item (min / median / max)", "Rater attributes", "95 % item bootstrap"], (1, _select_18_to_34)),
    "03_disagreement.ipynb": (["Items, ranked by group divergence"], (1, _regroup_by_region)),  # 0: the xRR heatmaps
    "04_tagging.ipynb": (["Your name", "Queue order"], (0, _next_item)),
    "05_cleaning.ipynb": (["Committee agreement with the human majority"], (0, _switch_off_flips)),
    "06_reward_models.ipynb": (["Models to compare"], (1, _compare)),  # 0: the forest plots
}


#: Notebooks seen to pass here; a new notebook runs too, as non-strict xfail, until its author adds a
#: LIVE entry and sees it pass.
CHECKED = {"01_quickstart.ipynb", "02_agreement.ipynb", "03_disagreement.ipynb", "04_tagging.ipynb", "05_cleaning.ipynb",
           "06_reward_models.ipynb", "07_lewidi.ipynb"}
# 07_lewidi has no LIVE entry: its figures and Explorer need ../shared/data, which the copied notebooks here do not
# see unless WORKBENCH_SHARED_DATA is set (with it, its per-group figures and the HS-Brexit Explorer render live).


@pytest.mark.parametrize("name", [n if n in CHECKED else pytest.param(n, marks=pytest.mark.xfail(
    reason="not yet run in JupyterLab by its author", strict=False)) for n in NOTEBOOKS])
def test_notebook_runs_in_jupyterlab_with_live_widgets(lab, chromium, name):
    url, token, folder = lab
    page, outside = _open_and_run(chromium, url, token, name)
    try:
        assert page.evaluate(ERRORS) == []
        panels = page.locator(PANEL_OUTPUT)
        assert panels.count() == page.evaluate(PANEL_RESULTS)  # every Panel result reached Bokeh (none left as text)
        for i in range(panels.count()):  # a live Bokeh view of some size, not an empty div, a text repr or "Loading"
            output = panels.nth(i)
            output.locator("[data-root-id]").first.wait_for(state="attached", timeout=30_000)
            output.scroll_into_view_if_needed()
            page.wait_for_function("el => el.getBoundingClientRect().height > 50", arg=output.element_handle(), timeout=30_000)
            assert "Loading" not in output.inner_text()
        texts, (index, interact) = LIVE.get(name, ([], (None, None)))
        for text in texts:
            panels.get_by_text(text).first.wait_for(timeout=60_000)
        if texts:
            assert panels.count() > 0
        if interact is not None:  # updates pushed from the kernel bring stylesheets too: they must stay inline
            interact(panels.nth(index))
        assert outside == [], f"requests left localhost: {outside}"
    finally:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
        page.close()
