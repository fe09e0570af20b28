"""The Tag tab of the served app in headless Chromium: a click in the page is a row in the store."""

import time

import pytest
from browser import needs_chromium, open_page, served

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def served_study(tmp_path_factory):
    import workbench
    from workbench.ui.app import build_app

    store = workbench.Store(tmp_path_factory.mktemp("tagging") / "project.sqlite")
    ratings = workbench.simulate_study(seed=0, n_items=200, ratings_per_item=5, n_raters=20).ratings
    with served(lambda: build_app(ratings, store)) as url:
        yield url, store


def _wait_for_rows(store, n, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        history = store.tag_history()
        if len(history) >= n:
            return history
        time.sleep(0.2)
    raise AssertionError(f"{len(store.tag_history())} tag rows after {timeout}s, expected {n}")


def test_tag_an_item_in_the_tag_tab(served_study):
    url, store = served_study
    with open_page(url) as (page, errors):
        page.get_by_text("Tag", exact=True).first.click()
        page.get_by_text("items tagged in").first.wait_for(timeout=30_000)
        name = page.get_by_placeholder("who is tagging")
        name.fill("ana")
        name.press("Enter")
        page.get_by_role("button", name="1 · manifest").click()
        history = _wait_for_rows(store, 1)
        assert history[["scheme", "value", "tagger"]].values.tolist() == [["subjectivity", "manifest", "ana"]]
        page.get_by_text("1 / 200").first.wait_for(timeout=10_000)
        page.get_by_text("Current tags on this item").first.click()  # focus outside the text fields
        page.keyboard.press("2")  # number keys pick a value
        history = _wait_for_rows(store, 2)
        assert history["value"].tolist() == ["manifest", "latent_pattern"] and history["item_id"].is_unique
        page.reload()  # the name is remembered for the browser session (in the address)
        page.get_by_text("Tag", exact=True).first.click()
        page.get_by_text("(2 by you)").first.wait_for(timeout=30_000)
        assert page.get_by_placeholder("who is tagging").input_value() == "ana"
        assert not errors, errors


def test_two_taggers_see_each_others_tags_without_a_reload(served_study):
    url, store = served_study
    with open_page(url) as (page, errors):
        other = page.context.browser.new_page()  # a second browser context: another person
        other.on("pageerror", lambda err: errors.append(str(err)))
        other.goto(url)
        for tab, name in ((page, "cy"), (other, "dee")):
            tab.get_by_text("Tag", exact=True).first.click()
            field = tab.get_by_placeholder("who is tagging")
            field.fill(name)
            field.press("Enter")
            tab.get_by_text("(0 by you)").first.wait_for(timeout=30_000)
        rows = len(store.tag_history())
        page.get_by_role("button", name="3 · latent_projective").click()  # both queues start on the same item
        _wait_for_rows(store, rows + 1)
        other.get_by_text("cy", exact=True).first.wait_for(timeout=20_000)  # dee's page shows cy's tag on it
        tagged = store.current_tags("subjectivity")["item_id"].nunique()
        other.get_by_text(f"{tagged} / 200").first.wait_for(timeout=10_000)
        assert store.tag_history()["tagger"].iloc[-1] == "cy"
        assert not errors, errors


def test_undo_right_after_a_tag_takes_it_back(served_study):
    """A tag moves the view to the next item; Undo there still takes back that tag and shows its item again."""
    url, store = served_study
    with open_page(url) as (page, errors):
        page.get_by_text("Tag", exact=True).first.click()
        name = page.get_by_placeholder("who is tagging")
        name.fill("eve")
        name.press("Enter")
        page.get_by_text("(0 by you)").first.wait_for(timeout=30_000)
        rows = len(store.tag_history())
        page.get_by_role("button", name="2 · latent_pattern").click()
        history = _wait_for_rows(store, rows + 1)
        tagged = history["item_id"].iloc[-1]
        page.get_by_text("(1 by you)").first.wait_for(timeout=10_000)  # and the view has moved on
        page.get_by_role("button", name="Undo").click()
        history = _wait_for_rows(store, rows + 2)
        assert history[["item_id", "tagger", "action"]].iloc[-1].tolist() == [tagged, "eve", "remove"]
        mine = store.current_tags("subjectivity", per_tagger=True)
        assert (mine["tagger"] == "eve").sum() == 0
        page.get_by_text("(0 by you)").first.wait_for(timeout=10_000)
        page.get_by_text(f"Undone: your last tag on item {tagged}").first.wait_for(timeout=10_000)
        page.get_by_text(f"· {tagged}").first.wait_for(timeout=10_000)  # its item is shown again
        assert not errors, errors
