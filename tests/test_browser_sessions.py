"""Two browser sessions on one served app: long work in one does not freeze the other.

The regrouping's seconds are printed, not asserted (timings belong in benchmarks/): on the 2-core machine
under load it answered in ~5 s while two 40,000-permutation jobs ran, against the 1 s issue 11 asks for.
"""

import re
import time

import pytest
from browser import needs_chromium, open_page, served

pytestmark = needs_chromium

#: The Explorer's status line while its permutation tests run.
TESTING = re.compile(r"^testing [\d,]+ items: [\d,]+ permutations of")


#: Permutations per Explorer job here: its tests then take many seconds (the app's default is 1000).
N_PERM = 40_000


@pytest.fixture(scope="module")
def served_study():
    import workbench
    from workbench.ui import app
    from workbench.ui.explorer import Explorer

    ratings = workbench.simulate_study(seed=0, n_items=300, ratings_per_item=12, n_raters=60).ratings
    tabs = [(title, (lambda ws: Explorer(workspace=ws, n_perm=N_PERM)) if title == "Explorer" else build) for title, build in app.TABS]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app, "TABS", tabs)
        with served(lambda: app.build_app(ratings)) as url:
            yield url


def _explorer(page):
    """Open the Explorer tab; its "Group raters by" select."""
    page.get_by_text("Explorer", exact=True).first.click(timeout=30_000)
    page.locator(".tabulator-row").first.wait_for(timeout=60_000)
    return page.locator("select", has=page.locator("option[value=region]")).first


def test_a_long_job_in_one_session_does_not_freeze_regrouping_in_another(served_study, capsys):
    with open_page(served_study) as (mine, errors):
        theirs = mine.context.browser.new_page()  # a second browser context: another person
        theirs.on("pageerror", lambda err: errors.append(str(err)))
        theirs.goto(served_study)
        my_group_by = _explorer(mine)  # my first tests start (their results will be dropped: I regroup below)
        _explorer(theirs).select_option("region")  # they start long work: permutations, bootstraps, subsampling
        theirs.get_by_text(TESTING).first.wait_for(timeout=30_000)

        start = time.monotonic()
        my_group_by.select_option("attention_check")
        mine.locator(".tabulator-cell[tabulator-field=group]", has_text="failed").first.wait_for(timeout=60_000)
        seconds = time.monotonic() - start

        # frozen, my regrouping would have waited for their work to end (and their status line to clear)
        assert theirs.get_by_text(TESTING).first.is_visible(), f"my regrouping answered only after their job ended ({seconds:.1f} s)"
        with capsys.disabled():
            print(f"\nregrouping while another session's job ran: {seconds:.2f} s")
        theirs.get_by_text("Raters per item").first.wait_for(timeout=300_000)  # and their work completes
        assert not errors, errors
