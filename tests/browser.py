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
