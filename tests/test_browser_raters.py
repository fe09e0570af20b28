"""The Overview's rater table in headless Chromium: it arrives off the request thread and sorts on a header click."""

import pytest
from browser import needs_chromium, open_page, served

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def served_small():
    import workbench
    from workbench.ui.app import build_app

    ratings = workbench.simulate_study(seed=0, n_items=300, ratings_per_item=6, n_raters=40).ratings
    with served(lambda: build_app(ratings)) as url:
        yield url, workbench.rater_table(ratings)


def _first_change(page) -> float:
    return float(page.locator('.tabulator-row .tabulator-cell[tabulator-field="alpha_change"]').first.inner_text())


def test_rater_table_sorts_by_alpha_change(served_small):
    url, table = served_small
    with open_page(url) as (page, errors):
        page.get_by_text("40 raters.").first.wait_for(timeout=60_000)
        assert _first_change(page) == pytest.approx(table["alpha_change"].max(), abs=1e-4)  # largest first
        header = page.locator('.tabulator-col[tabulator-field="alpha_change"] .tabulator-col-title').first
        header.click()
        for _ in range(50):  # the server sorts (remote pagination) and sends the page back
            if _first_change(page) == pytest.approx(table["alpha_change"].min(), abs=1e-4):
                break
            page.wait_for_timeout(200)
        assert _first_change(page) == pytest.approx(table["alpha_change"].min(), abs=1e-4)
        assert not errors, errors
