"""The served app in headless Chromium (Debian's /usr/bin/chromium; skipped where it is absent)."""

import pytest
from browser import needs_chromium, open_page, served

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def served_demo():
    import workbench
    from workbench.ui.app import build_app

    ratings = workbench.simulate_study(seed=0).ratings
    with served(lambda: build_app(ratings)) as url:
        yield url


def test_overview_renders_in_a_browser(served_demo):
    with open_page(served_demo) as (page, errors):
        page.get_by_text("ratings per item (min / median / max)").wait_for(timeout=30_000)
        for text in ("Overview", "40000", "Rater attributes", "age_band", "attention_check"):
            page.get_by_text(text, exact=True).first.wait_for(timeout=10_000)  # locators pierce Bokeh's shadow DOM
        page.locator("canvas").nth(1).wait_for(timeout=10_000)  # both Bokeh plots drew
        assert not errors, errors


def test_overview_headline_alpha_arrives_without_blocking(served_demo):
    with open_page(served_demo) as (page, errors):
        page.get_by_text("Krippendorff's alpha").first.wait_for(timeout=30_000)
        page.get_by_text("95 % item bootstrap").first.wait_for(timeout=30_000)  # computed off the request thread
        assert not errors, errors
