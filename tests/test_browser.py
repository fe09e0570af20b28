"""The served app in headless Chromium (Debian's /usr/bin/chromium; skipped where it is absent)."""

import shutil
import socket

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium)")]
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served_demo():
    import panel as pn

    import workbench
    from workbench.ui.app import build_app

    ratings = workbench.simulate_study(seed=0).ratings
    port = _free_port()
    server = pn.serve(lambda: build_app(ratings), port=port, address="127.0.0.1", threaded=True, show=False,
                      websocket_origin=[f"127.0.0.1:{port}"])
    yield f"http://127.0.0.1:{port}/"
    server.stop()


def test_overview_renders_in_a_browser(served_demo):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page()
            errors = []
            page.on("pageerror", lambda err: errors.append(str(err)))  # JavaScript exceptions on the page
            page.goto(served_demo)
            page.get_by_text("ratings per item (min / median / max)").wait_for(timeout=30_000)
            for text in ("Overview", "40000", "Rater attributes", "age_band", "attention_check"):
                page.get_by_text(text, exact=True).first.wait_for(timeout=10_000)  # locators pierce Bokeh's shadow DOM
            page.locator("canvas").nth(1).wait_for(timeout=10_000)  # both Bokeh plots drew
            assert not errors, errors
        finally:
            browser.close()
