"""One workspace and the Explorer's groups in the served app, driven in headless Chromium (issue 18).

Cleaned data reaches every tab (the Overview's counts change, the banner names the recipe, the way
back works); selection follows the item id across regrouping; ConvAbuse offers no per-rating label
column as a group; MultiPICo's age is binned and the page stays short. Every state reached is
scanned for internals (tracebacks, GiB, argument names, exception class names).
"""

import re

import pytest
from browser import assert_no_internals, needs_chromium, open_page, served

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def study():
    import workbench

    return workbench.simulate_study(seed=0, n_items=400, ratings_per_item=6, n_raters=30)


@pytest.fixture(scope="module")
def served_study(tmp_path_factory, study):
    import workbench
    from workbench.ui.app import build_app

    store = workbench.Store(tmp_path_factory.mktemp("workspace") / "project.sqlite")
    for model, frame in study.scores.groupby("model"):  # the committee reaches the Clean tab through the store
        store.save_scores(model, frame)
    with served(lambda: build_app(study.ratings, store)) as url:
        yield url


def _tab(page, title: str) -> None:
    page.get_by_text(title, exact=True).first.click(timeout=30_000)


def _fact(page, name: str) -> str:
    """The value of one row of the Overview's facts table."""
    cell = page.locator("tr", has=page.locator("th", has_text=re.compile(rf"^{name}$"))).first.locator("td").first
    cell.wait_for(timeout=30_000)
    return cell.inner_text().strip()


def test_cleaned_data_reaches_every_tab_and_the_way_back_works(served_study, study):
    with open_page(served_study) as (page, errors):
        page.get_by_text("Krippendorff's alpha", exact=False).first.wait_for(timeout=60_000)
        assert _fact(page, "ratings") == str(study.ratings.n_ratings)
        banner = page.get_by_text("Showing the cleaned data")
        assert banner.count() == 0 or not banner.first.is_visible()
        assert_no_internals(page, "Overview, raw")

        _tab(page, "Clean")
        page.get_by_text(re.compile(r"\d+ flipped · \d+ dropped · \d+ kept")).first.wait_for(timeout=60_000)
        page.get_by_text(re.compile(r"EM: \d+ iterations")).first.wait_for(timeout=120_000)
        assert_no_internals(page, "Clean")
        page.get_by_role("button", name="Use the cleaned data in other tabs").click()
        banner.first.wait_for(timeout=30_000)
        text = banner.first.inner_text()
        found = re.search(r"recipe “(.+?)”\): ([\d,]+) of ([\d,]+) ratings, ([\d,]+) of ([\d,]+) items", text)
        assert found, text
        kept_ratings = int(found.group(2).replace(",", ""))
        assert found.group(1) == "source-aware" and kept_ratings < study.ratings.n_ratings

        _tab(page, "Overview")  # every tab: the Overview counts the cleaned ratings
        page.get_by_text(str(kept_ratings), exact=True).first.wait_for(timeout=30_000)
        assert _fact(page, "ratings") == str(kept_ratings)
        assert banner.first.is_visible()  # the banner stays over every tab
        assert_no_internals(page, "Overview, cleaned")

        _tab(page, "Explorer")
        page.get_by_text("Items, ranked by group divergence", exact=False).first.wait_for(timeout=60_000)
        assert banner.first.is_visible()
        assert_no_internals(page, "Explorer, cleaned")
        _tab(page, "Tag")
        page.get_by_text(re.compile(rf"/ {int(found.group(4))}\b")).first.wait_for(timeout=30_000)  # the queue holds the kept items
        assert_no_internals(page, "Tag, cleaned")

        page.get_by_role("button", name="Back to the raw data").click()  # one click back
        banner.first.wait_for(state="hidden", timeout=30_000)
        page.get_by_text(re.compile(rf"/ {study.ratings.n_items}\b")).first.wait_for(timeout=30_000)
        _tab(page, "Overview")
        page.get_by_text(str(study.ratings.n_ratings), exact=True).first.wait_for(timeout=30_000)
        assert _fact(page, "ratings") == str(study.ratings.n_ratings)
        assert_no_internals(page, "Overview, back to raw")
        assert not errors, errors


def test_selection_follows_the_item_id_after_regrouping(served_study, study):
    with open_page(served_study) as (page, errors):
        _tab(page, "Explorer")
        page.locator(".tabulator-row").nth(4).wait_for(timeout=60_000)
        row = page.locator(".tabulator-row").nth(4)
        item = row.locator(".tabulator-cell[tabulator-field=item_id]").inner_text()
        row.click()
        page.get_by_text(f"Item {item}").first.wait_for(timeout=30_000)
        group_by = page.locator("select", has=page.locator("option[value=region]")).first
        group_by.select_option("region")
        page.get_by_text("Europe", exact=True).first.wait_for(timeout=30_000)  # regrouped
        selected = page.locator(".tabulator-row.tabulator-selected")
        selected.first.wait_for(timeout=30_000)
        # the highlighted row is the selected item once the table has re-rendered (locators reach into shadow roots)
        selected.locator(".tabulator-cell[tabulator-field=item_id]", has_text=item).first.wait_for(timeout=30_000)
        assert selected.count() == 1
        assert selected.first.locator(".tabulator-cell[tabulator-field=item_id]").inner_text() == item
        assert page.get_by_text(f"Item {item}").first.is_visible()  # the detail panel shows the same item
        assert_no_internals(page, "Explorer, regrouped")
        assert not errors, errors


@pytest.mark.realdata
def test_convabuse_offers_no_per_rating_label_columns_as_groups(shared_data):
    import workbench
    from workbench.ui.app import build_app

    convabuse = workbench.datasets.read_convabuse(shared_data / "convabuse" / "ConvAbuseEMNLPfull.csv.gz")
    with served(lambda: build_app(convabuse)) as url, open_page(url) as (page, errors):
        _tab(page, "Explorer")
        page.get_by_text("Group comparisons need rater groups", exact=False).first.wait_for(timeout=60_000)
        for column in ("type.ableism", "target.system", "severity", "abusive"):
            assert page.locator(f"option[value='{column}']").count() == 0, column
        assert_no_internals(page, "ConvAbuse Explorer")
        _tab(page, "Clean")
        page.get_by_text("committee_group: score reward models in the Models tab", exact=False).first.wait_for(timeout=60_000)
        text = assert_no_internals(page, "ConvAbuse Clean")
        assert "see the note above" not in text
        assert re.search(r"0 flipped · 0 dropped · 12,?411 kept", text), "the default floor drops ConvAbuse's two-rater items"
        assert not errors, errors


@pytest.mark.realdata
def test_multipico_age_is_binned_and_the_page_stays_short(shared_data):
    import workbench
    from workbench.ui.app import build_app

    folder = shared_data / "multipico_lewidi2025"
    multipico = workbench.datasets.read_multipico(folder / "MP_dev.json.gz", annotators_meta=folder / "MP_annotators_meta.json.gz")
    with served(lambda: build_app(multipico)) as url, open_page(url) as (page, errors):
        _tab(page, "Explorer")
        page.locator(".tabulator-row").first.wait_for(timeout=120_000)
        group_by = page.locator("select", has=page.locator("option[value=age]")).first
        options = group_by.evaluate("s => [...s.options].map(o => o.value)")
        assert "gender" in options and "age" in options, options
        group_by.select_option("age")
        page.get_by_text(re.compile(r"^18–\d+$")).first.wait_for(timeout=60_000)  # the bins, shown as the ages they hold
        height = page.evaluate("() => document.documentElement.scrollHeight")
        assert height < 5000, f"the Explorer is {height} px tall"
        assert_no_internals(page, "MultiPICo Explorer by age")
        assert not errors, errors
