"""The Clean tab of the served app in headless Chromium: switching a rule off changes the counts at once."""

import re

import pytest
from browser import checkbox, needs_chromium, open_page, served

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def served_study(tmp_path_factory):
    import workbench
    from workbench.ui.app import build_app

    store = workbench.Store(tmp_path_factory.mktemp("cleaning") / "project.sqlite")
    study = workbench.simulate_study(seed=0, n_items=400, ratings_per_item=6, n_raters=30)
    for model, frame in study.scores.groupby("model"):  # the committee reaches the tab through the store
        store.save_scores(model, frame)
    with served(lambda: build_app(study.ratings, store)) as url:
        yield url, store


def test_switching_a_rule_changes_the_counts(served_study):
    url, store = served_study
    with open_page(url) as (page, errors):
        page.get_by_text("Clean", exact=True).first.click()
        counts = page.get_by_text(re.compile(r"\d+ flipped · \d+ dropped · \d+ kept")).first
        counts.wait_for(timeout=60_000)
        before = counts.inner_text()
        assert not before.startswith("0 flipped"), before
        page.get_by_text("Committee agreement with the human majority").first.wait_for(timeout=30_000)
        switch = checkbox(page, "1. flip")  # the flip rule's switch
        assert switch.is_checked()
        switch.uncheck()
        page.get_by_text(re.compile(r"^0 flipped · \d+ dropped · \d+ kept")).first.wait_for(timeout=30_000)
        page.get_by_text(re.compile(r"alpha after: \d")).first.wait_for(timeout=60_000)  # the bootstrap arrives off-thread
        page.get_by_text(re.compile(r"EM: \d+ iterations")).first.wait_for(timeout=60_000)
        page.get_by_label("Recipe name").fill("no flips")
        page.get_by_label("Recipe name").press("Enter")
        page.get_by_role("button", name="Save recipe").click()
        page.get_by_text("saved no flips").first.wait_for(timeout=30_000)
        assert store.recipe_names() == ["no flips"]
        assert store.load_recipe("no flips")["rules"][0]["enabled"] is False
        assert not errors, errors
