"""Long work off the request thread: one small pool shared by every session of the server.

Panel applies parameter changes made from a worker thread on the owning session's event loop, so a
callback may update widgets and panes directly.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="workbench")


def run_in_background(work, *, done, failed) -> Future:
    """Run ``work()`` on the shared pool; then ``done(result)``, or ``failed(error)`` for an exception.

    >>> import threading
    >>> finished = threading.Event(); out = []
    >>> _ = run_in_background(lambda: 6 * 7, done=lambda v: (out.append(v), finished.set()), failed=print)
    >>> finished.wait(5), out
    (True, [42])
    """

    def _finish(future: Future) -> None:
        error = future.exception()
        if error is None:
            done(future.result())
        else:
            failed(error)

    future = _POOL.submit(work)
    future.add_done_callback(_finish)
    return future
