"""Shared helpers for headless-Chromium tests of the served app (Debian's /usr/bin/chromium).

A test module does ``from browser import served, open_page, needs_chromium`` and sets
``pytestmark = needs_chromium``; tests skip where Chromium or Playwright is absent.
"""

from __future__ import annotations

import shutil
import socket
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium)")]
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _outside(request_url: str, server: str) -> bool:
    parts = urlsplit(request_url)
    return parts.scheme not in ("blob", "data", "about") and parts.netloc != server


@contextmanager
def served(make_app):
    """Serve ``make_app()`` (one app per browser session) on a free localhost port; yields the URL."""
    import panel as pn

    port = free_port()
    server = pn.serve(make_app, port=port, address="127.0.0.1", threaded=True, show=False,
                      websocket_origin=[f"127.0.0.1:{port}"])
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.stop()


@contextmanager
def served_committee_study(folder):
    """The app on a 200-item simulated study whose committee's scores are saved in a store in ``folder``, as a
    researcher would have them; yields the URL."""
    import workbench
    from workbench.ui.app import build_app

    study = workbench.simulate_study(seed=0, n_items=200, ratings_per_item=5, n_raters=20)
    store = workbench.Store(folder / "project.sqlite")
    for name, group in study.scores.groupby("model"):
        store.save_scores(name, group.drop(columns="model"))
    with served(lambda: build_app(study.ratings, store)) as url:
        yield url


@contextmanager
def open_page(url: str):
    """A Playwright page on ``url``; yields ``(page, errors)``.

    ``errors`` collects JavaScript exceptions and every request to a host other than the server's
    (the app must work offline), so ``assert not errors`` checks both.
    """
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            server = urlsplit(url).netloc
            page.on("request", lambda request: _outside(request.url, server) and errors.append(f"outside request: {request.url}"))
            page.goto(url)
            yield page, errors
        finally:
            browser.close()


#: What the page must never show: tracebacks, allocator and memory arithmetic, Python argument names and reprs,
#: exception class names, undefined numbers printed raw.
FORBIDDEN = [
    ("a traceback", r"Traceback|File \"[^\"]+\", line \d+"),
    ("an allocator message", r"DefaultCPUAllocator|can't allocate memory|out of memory|you tried to allocate"),
    ("memory arithmetic", r"\b\d+(\.\d+)?\s*[GMK]iB\b"),
    ("a Python argument", r"\b[a-z][a-z_0-9]*=(None|True|False|'[^']*'|\"[^\"]*\")"),
    ("an exception class name", r"\b[A-Z][A-Za-z]*(Error|Exception)\b|\b[A-Z][A-Za-z]*Warning\b"),
    ("a raw NaN", r"(=|:)\s*nan\b|\bNaN\b"),
]

_VISIBLE_TEXT = """() => {
  const out = [];
  const walk = (root) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      if (!parent || ["STYLE", "SCRIPT", "TEMPLATE"].includes(parent.tagName)) continue;
      if (parent.checkVisibility && !parent.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
      if (node.textContent.trim()) out.push(node.textContent);
    }
    for (const el of root.querySelectorAll("*")) if (el.shadowRoot) walk(el.shadowRoot);
  };
  walk(document.body);
  return out.join("\\n");
}"""


def visible_text(page) -> str:
    """All text the page shows, shadow roots (where Bokeh draws) included, hidden elements left out."""
    return page.evaluate(_VISIBLE_TEXT)


def internals_in(text: str) -> list[str]:
    """What in ``text`` is internal (see FORBIDDEN), as ``"<kind>: <excerpt>"``.

    >>> internals_in("alpha 0.41 [0.38, 0.44]")
    []
    >>> internals_in("needs 796.7 GiB (ci=None)")
    ['memory arithmetic: 796.7 GiB', 'a Python argument: ci=None']
    >>> internals_in("resolve with duplicates='first'; WorkbenchDataError")
    ["a Python argument: duplicates='first'", 'an exception class name: WorkbenchDataError']
    """
    import re

    found = []
    for kind, pattern in FORBIDDEN:
        for match in re.finditer(pattern, text, flags=re.MULTILINE):
            found.append(f"{kind}: {match.group(0).strip()}")
    return found


def assert_no_internals(page, where: str = "") -> str:
    """Fail if the page shows anything internal (a traceback, allocator text, GiB, ``ci=None``, ``duplicates=``,
    an exception class name, a raw NaN); returns the visible text for further checks."""
    text = visible_text(page)
    found = internals_in(text)
    assert not found, f"the page{' (' + where + ')' if where else ''} shows internals: {found}"
    return text


def checkbox(page, label: str):
    """The checkbox whose label text is ``label`` (Bokeh draws the label beside the input, in a shadow root)."""
    boxes = page.locator("input[type=checkbox]")
    for k in range(boxes.count()):
        if boxes.nth(k).evaluate("e => e.nextElementSibling && e.nextElementSibling.textContent") == label:
            return boxes.nth(k)
    raise AssertionError(f"no checkbox labelled {label!r}")
