"""The public data sets as released, through the page's upload: recognised, joined with their annotator files, checked."""

import pytest
from browser import assert_no_internals, needs_chromium, open_page, served

pytestmark = [*needs_chromium, pytest.mark.realdata]

@pytest.fixture(scope="module")
def served_demo():
    import workbench
    from workbench.ui.app import build_app

    ratings = workbench.simulate_study(n_items=60, ratings_per_item=4, n_raters=12, seed=1).ratings
    with served(lambda: build_app(ratings)) as url:
        yield url


def _files(page, *files) -> None:
    page.locator("input[type=file]").set_input_files(
        files=[{"name": path.name, "mimeType": "application/octet-stream", "buffer": path.read_bytes()} for path in files])


def test_convabuse_full_csv_is_recognised_and_finds_its_items(served_demo, shared_data):
    with open_page(served_demo) as (page, errors):
        page.get_by_role("button", name="Use this mapping").wait_for(timeout=30_000)
        _files(page, shared_data / "convabuse/ConvAbuseEMNLPfull.csv.gz")
        page.get_by_text("ConvAbuse full CSV").first.wait_for(timeout=30_000)
        page.get_by_text("4,185 items, 8 raters, 12,411 ratings").first.wait_for(timeout=10_000)
        page.get_by_role("button", name="Use this data set").click()
        page.get_by_text("Now showing 'ConvAbuseEMNLPfull.csv.gz'").wait_for(timeout=30_000)
        page.get_by_text("4185", exact=True).first.wait_for(timeout=30_000)  # the Overview's item count
        page.get_by_text("Krippendorff's alpha (ordinal):").wait_for(timeout=60_000)
        assert_no_internals(page)
        assert not errors, errors


def test_multipico_with_its_annotator_file(served_demo, shared_data):
    folder = shared_data / "multipico_lewidi2025"
    with open_page(served_demo) as (page, errors):
        page.get_by_role("button", name="Use this mapping").wait_for(timeout=30_000)
        _files(page, folder / "MP_dev.json.gz", folder / "MP_annotators_meta.json.gz")
        page.get_by_text("3,005 items, 506 raters").first.wait_for(timeout=30_000)
        page.get_by_text("Rater attributes:").first.wait_for(timeout=10_000)
        page.get_by_role("button", name="Use this data set").click()
        page.get_by_text("Now showing 'MP_dev.json.gz'").wait_for(timeout=30_000)
        page.get_by_text("3005", exact=True).first.wait_for(timeout=30_000)
        page.get_by_text("gender", exact=True).first.wait_for(timeout=30_000)  # the Overview's rater attributes
        page.get_by_text("age", exact=True).first.wait_for(timeout=30_000)
        assert_no_internals(page)
        assert not errors, errors


def test_a_plain_convabuse_table_gets_its_composite_key_guessed(served_demo, shared_data, tmp_path):
    import pandas as pd

    frame = pd.read_csv(shared_data / "convabuse/ConvAbuseEMNLPfull.csv.gz")
    plain = tmp_path / "abuse.csv"  # the same rows without ConvAbuse's header, so it is mapped as a plain table
    frame.rename(columns={"is_abuse.1": "not_abusive"})[
        ["example_no", "conv_id", "prev_agent", "prev_user", "agent", "user", "annotator_id", "not_abusive"]].to_csv(plain, index=False)
    with open_page(served_demo) as (page, errors):
        page.get_by_role("button", name="Use this mapping").wait_for(timeout=30_000)
        _files(page, plain)
        page.get_by_text("Read 'abuse.csv': 12,768 rows").wait_for(timeout=30_000)
        page.get_by_text("items: 4,185 · raters: 8").wait_for(timeout=10_000)  # the guessed composite key
        page.get_by_text("357 (item, rater) pairs occur more than once").wait_for(timeout=10_000)  # ConvAbuse's repeat annotations
        assert page.get_by_role("button", name="Use this mapping").is_disabled()
        assert_no_internals(page)
        assert not errors, errors


def test_a_generic_csv_with_a_composite_key(served_demo, tmp_path):
    rows = ["conversation,turn,coder,verdict"]
    rows += [f"c{c},t{t},w{w},{(c + t + w) % 2}" for c in range(30) for t in range(3) for w in range(3)]
    path = tmp_path / "turns.csv"
    path.write_text("\n".join(rows))
    with open_page(served_demo) as (page, errors):
        page.get_by_role("button", name="Use this mapping").wait_for(timeout=30_000)
        _files(page, path)
        page.get_by_text("items: 90 · raters: 3 · ratings: 270").wait_for(timeout=30_000)
        page.get_by_role("button", name="Use this mapping").click()
        page.get_by_text("Now showing 'turns.csv': 90 items, 3 raters, 270 ratings").wait_for(timeout=30_000)
        page.get_by_text("270", exact=True).first.wait_for(timeout=30_000)
        page.get_by_text("· turns.csv", exact=True).first.wait_for(timeout=30_000)  # the title follows the data
        assert_no_internals(page)
        assert not errors, errors
