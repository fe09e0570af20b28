"""The app as a whole in headless Chromium: offline, title, upload with a column mapping, bad files."""

import pytest
from browser import needs_chromium, open_page, served

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def served_small():
    import workbench
    from workbench.ui.app import build_app

    ratings = workbench.simulate_study(n_items=60, ratings_per_item=4, n_raters=12, seed=1).ratings
    with served(lambda: build_app(ratings)) as url:
        yield url


def _upload(page, name: str, content: bytes) -> None:
    page.locator("input[type=file]").set_input_files(files=[{"name": name, "mimeType": "text/plain", "buffer": content}])


def test_title_names_the_data_set(served_small):
    with open_page(served_small) as (page, errors):
        page.get_by_text("· demo study (simulated)", exact=True).first.wait_for(timeout=30_000)
        assert not errors, errors


def test_bad_upload_shows_the_message_and_keeps_the_data(served_small):
    with open_page(served_small) as (page, errors):
        page.get_by_role("button", name="Use this mapping").wait_for(timeout=30_000)
        _upload(page, "notes.txt", b"hello")
        page.get_by_text("use a file ending in").wait_for(timeout=10_000)
        _upload(page, "fake.parquet", b"item,rater\n1,2\n")
        page.get_by_text("is not a Parquet file").wait_for(timeout=10_000)
        page.get_by_text("240", exact=True).first.wait_for(timeout=10_000)  # the demo's ratings are still shown
        assert not errors, errors


def test_upload_map_and_see_its_overview(served_small):
    rows = "\n".join(f"q{i},w{j},{(i + j) % 3 + 1}" for i in range(7) for j in range(3))
    with open_page(served_small) as (page, errors):
        page.get_by_role("button", name="Use this mapping").wait_for(timeout=30_000)
        _upload(page, "mine.csv", ("question,worker,score\n" + rows).encode())
        page.get_by_text("Read 'mine.csv': 21 rows").wait_for(timeout=10_000)
        page.get_by_text("items: 7 · raters: 3 · ratings: 21").wait_for(timeout=10_000)  # the preview, before any computation
        page.get_by_role("button", name="Use this mapping").click()
        page.get_by_text("Now showing 'mine.csv'").wait_for(timeout=10_000)
        page.get_by_text("mine.csv", exact=True).first.wait_for(timeout=10_000)
        page.get_by_text("21", exact=True).first.wait_for(timeout=10_000)  # its ratings in the Overview facts
        assert not errors, errors


def test_repeated_pairs_are_explained_and_can_be_resolved(served_small):
    with open_page(served_small) as (page, errors):
        page.get_by_role("button", name="Use this mapping").wait_for(timeout=30_000)
        _upload(page, "twice.csv", b"item_id,rater_id,label\n1,a,x\n1,a,y\n2,a,x\n2,b,x\n")
        page.get_by_text("Read 'twice.csv'").wait_for(timeout=10_000)
        page.get_by_text("pairs occur more than once: choose which to keep under").wait_for(timeout=10_000)
        assert page.get_by_role("button", name="Use this mapping").is_disabled()  # nothing is computed on a blocked mapping
        page.locator("select").filter(has_text="first").select_option("first")
        page.get_by_text("only the first of each is kept").wait_for(timeout=10_000)
        page.get_by_role("button", name="Use this mapping").click()
        page.get_by_text("Now showing 'twice.csv'").wait_for(timeout=10_000)
        assert "duplicates=" not in page.evaluate("() => document.body.innerHTML")
        assert not errors, errors
