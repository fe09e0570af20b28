"""Long work off the request thread, and updates handed to the session they belong to.

One small pool serves every session of the server. Bokeh documents are not thread-safe, so a
result, a progress tick or a tag written in another session reaches a served session through
:func:`call_in_session`: on that session's event loop, with Panel's current document set to it.
Outside a server (a notebook, a script) there is no loop to hand back to: the work runs at once,
and a component's output is complete when its cell returns.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

import panel as pn
from panel.io.state import set_curdoc

from ..errors import WorkbenchDataError

LOG = logging.getLogger(__name__)
#: How long long work waits after the event that started it, so that the view the user asked for is sent first.
SEND_FIRST_MS = 300
_IN_POOL = threading.local()


#: Niceness of the threads that run long work (permutation tests, scoring, training): it yields the processor
#: to the event loop that serves the pages, to the quick jobs a click starts (a comparison, a headline) and, on a
#: laptop, to the browser showing them; it still gets every idle cycle.
LONG_NICENESS = 10


def _mark_pool_thread() -> None:
    _IN_POOL.active = True


def _mark_long_thread() -> None:
    _mark_pool_thread()
    try:  # Linux schedules threads one by one: this lowers this thread (and the threads it starts) only
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LONG_NICENESS)
    except (AttributeError, OSError):  # not Linux, or not allowed: the work runs at the usual priority
        pass


#: Set when the process is exiting: long work that checks it between steps stops, so that a server stopped while a
#: permutation test runs exits at once instead of waiting for the test (Python joins pool threads at exit).
STOPPING = threading.Event()
try:  # called before the pools' threads are joined (the hook concurrent.futures itself uses)
    threading._register_atexit(STOPPING.set)
except (AttributeError, RuntimeError):  # another Python, or already exiting: long work then runs to its end
    pass

#: Quick work a click waits for, and long work that must not hold it up: one small pool each, shared by every session.
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="workbench", initializer=_mark_pool_thread)
_LONG_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="workbench-long", initializer=_mark_long_thread)


def session_document():
    """The document of the served session running this code, or None (a notebook, a script, a worker thread).

    >>> session_document() is None
    True
    """
    doc = pn.state.curdoc
    return doc if doc is not None and doc.session_context is not None else None


def call_in_session(doc, update) -> None:
    """Run ``update()`` in ``doc``'s session; from any thread or session.

    At once when ``doc`` is None (not served) or is the session running now; otherwise on ``doc``'s
    event loop, with Panel's current document set to ``doc``. (A callback scheduled from another
    session would otherwise run under that session's document — the context travels with the
    callback — and Panel would route its model changes there.) A session that has closed is skipped.

    >>> call_in_session(None, lambda: print("now"))
    now
    """
    # A pool thread may see a session's document as Panel's current one (state that is not per thread), but an
    # update made there is never sent to the browser: from the pool, always go through the session's event loop.
    if doc is None or (doc is session_document() and not getattr(_IN_POOL, "active", False)):
        update()
    else:
        _next_tick(doc, update)


def after_this_event(update) -> None:
    """Run ``update()`` once the session has sent what the current event changed (at once outside a server).

    Long work a widget starts goes through here, so the view the user asked for leaves the server
    before the work competes with it for the processor.

    >>> after_this_event(lambda: print("now"))
    now
    """
    doc = session_document()
    if doc is None:
        update()
        return

    def in_its_session() -> None:
        with set_curdoc(doc):
            update()

    try:  # the next tick can come before the websocket has written the update; a short pause lets it leave first
        doc.add_timeout_callback(in_its_session, SEND_FIRST_MS)
    except Exception:  # the session closed: nobody to tell
        pass


def when_loaded(update) -> None:
    """Run ``update()`` once the browser has drawn the served page (at once outside a server): what a page shows
    first paints sooner when its figures and long work follow.

    >>> when_loaded(lambda: print("now"))
    now
    """
    if session_document() is None:
        update()
    else:  # and a moment later, so that the first render is not competing with the figures' messages
        pn.state.onload(lambda: after_this_event(update))


def _next_tick(doc, update) -> None:
    """``update()`` on ``doc``'s event loop, with Panel's current document set to ``doc``; skipped if the session closed."""

    def in_its_session() -> None:
        with set_curdoc(doc):
            update()

    try:
        doc.add_next_tick_callback(in_its_session)  # thread-safe; Bokeh runs it holding the document lock
    except Exception:  # the session closed: nobody to tell
        pass


def error_text(error: Exception) -> str:
    """What the page says about a failed job: a data error's own message, else one plain sentence (the details,
    with the traceback, go to the server log — never to the page).

    >>> error_text(WorkbenchDataError("column 'label' is missing"))
    "column 'label' is missing"
    >>> error_text(ZeroDivisionError("division by zero"))
    'an unexpected problem stopped this computation (the server log has the details)'
    """
    if isinstance(error, WorkbenchDataError):
        return str(error)
    LOG.error("background job failed", exc_info=error)
    return "an unexpected problem stopped this computation (the server log has the details)"


def run_in_background(work, *, done, failed, long: bool = False) -> Future:
    """Run ``work()`` on the shared pool; then ``done(result)``, or ``failed(error)`` for an exception.

    ``long=True`` for work that takes seconds or more (a permutation test, scoring, training): it runs on its own
    pool at a lower priority, so the quick jobs a click starts are not queued or slowed behind it.

    >>> out = []
    >>> future = run_in_background(lambda: 6 * 7, done=out.append, failed=print)
    >>> future.result(), out
    (42, [42])
    """
    doc = session_document()
    if doc is None:
        future: Future = Future()
        try:
            future.set_result(work())
        except Exception as error:  # shown by ``failed``, never raised into the page
            future.set_exception(error)
            failed(error)
        else:
            done(future.result())
        return future

    def _finish(future: Future) -> None:
        error = future.exception()
        call_in_session(doc, partial(done, future.result()) if error is None else partial(failed, error))

    future = (_LONG_POOL if long else _POOL).submit(work)
    future.add_done_callback(_finish)
    return future
