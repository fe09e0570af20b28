"""Long work off the request thread: one small pool shared by every session of the server.

In a served session the result is handed back to that session's event loop (Bokeh documents are
not thread-safe), so ``done`` and ``failed`` may update widgets and panes directly. Outside a
server (a notebook, a script) there is no loop to hand back to: the work runs at once, and a
component's output is complete when its cell returns.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

import panel as pn

_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="workbench")


def run_in_background(work, *, done, failed) -> Future:
    """Run ``work()`` on the shared pool; then ``done(result)``, or ``failed(error)`` for an exception.

    >>> out = []
    >>> future = run_in_background(lambda: 6 * 7, done=out.append, failed=print)
    >>> future.result(), out
    (42, [42])
    """
    doc = pn.state.curdoc if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None else None
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
        callback = partial(done, future.result()) if error is None else partial(failed, error)
        try:
            doc.add_next_tick_callback(callback)
        except Exception:  # the session closed while the work ran: nobody to tell
            pass

    future = _POOL.submit(work)
    future.add_done_callback(_finish)
    return future
