"""The Explorer tab in the served app, driven in headless Chromium: regroup, select an item."""

import pytest
from browser import assert_no_internals, needs_chromium, open_page, served

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def ratings():
    import workbench

    return workbench.simulate_study(seed=0, n_items=150, ratings_per_item=10, n_raters=40).ratings


@pytest.fixture(scope="module")
def served_demo(ratings):
    from workbench.ui.app import build_app

    with served(lambda: build_app(ratings)) as url:
        yield url


def test_explorer_regroups_and_shows_a_selected_item(served_demo, ratings):
    with open_page(served_demo) as (page, errors):
        page.get_by_text("Explorer", exact=True).first.click(timeout=30_000)  # the tab header
        page.get_by_text("Items, ranked by group divergence", exact=False).first.wait_for(timeout=30_000)
        page.locator(".tabulator-row").first.wait_for(timeout=30_000)
        page.get_by_text("18-34", exact=True).first.wait_for(timeout=10_000)  # groups by the first rater attribute
        group_by = page.locator("select", has=page.locator("option[value=region]")).first  # "Group raters by"
        group_by.select_option("region")
        page.get_by_text("Europe", exact=True).first.wait_for(timeout=30_000)  # the item table regrouped
        page.get_by_text("Overall", exact=False).first.wait_for(timeout=60_000)  # the permutation test came back
        row = page.locator(".tabulator-row").first
        item = row.locator(".tabulator-cell[tabulator-field=item_id]").inner_text()
        row.click()
        page.get_by_text(f"Item {item}").wait_for(timeout=30_000)
        prompt = ratings.items.loc[item, "prompt"]
        page.get_by_text(prompt).first.wait_for(timeout=10_000)  # the item's text
        assert_no_internals(page, "Explorer")
        assert not errors, errors
