"""The browser tests' scan for internals (tests/browser.py), checked without a browser."""

from browser import internals_in


def test_the_scan_finds_every_kind_of_internal_of_issue_18():
    page = ("needs a 12,768 × 2,894 × 2,894 array (796.7 GiB, over the 2.0 GiB limit) (ci=None)\n"
            "DefaultCPUAllocator: can't allocate memory: you tried to allocate 855480105984 bytes\n"
            "Traceback (most recent call last):\n"
            "repeated rows; pass duplicates='first'\n"
            "WorkbenchDataError: no\nValueError\n"
            "0 items tested … nan, p = nan")
    kinds = {found.split(":")[0] for found in internals_in(page)}
    assert kinds == {"a traceback", "an allocator message", "memory arithmetic", "a Python argument", "an exception class name",
                     "a raw NaN"}


def test_the_scan_passes_plain_pages():
    page = ("Krippendorff's alpha (nominal): 0.432 [0.401, 0.463] · moderate\n"
            "No item has 3 ratings from one gender group and 3 from the others; lower the minimum or choose another attribute.\n"
            "5. min_ratings: k=3 · committee_group == 'NoAgree' · 1,094 of 4,185 items · Nancy · finance")
    assert internals_in(page) == []
