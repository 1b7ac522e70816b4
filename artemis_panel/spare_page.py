"""The next visitor's app, built ahead while the server is idle.

Building a session's app (its filters' state, the tabs, the Measure tab's charts and table) is about a third of the
server's time to answer a page, and the browser waits for all of it before it can even ask for the page's scripts.
The server keeps one spare, built in idle time (at set-up, then after each page it serves, once the page's browser
has drawn it), for the last visitor's access and the store file as it was then. A visitor with that access, the
store file unchanged, gets it, and the page goes out with only the document left to build (then its shown tab asks
its first question, in that visitor's session, as every app's does). Anyone else, or a visitor while the spare is
being rebuilt, gets an app built for them as before. Sessions never share an app: a spare is handed out once.

The spare is built on the event loop's thread, outside any session, like any page build: it holds the loop for
about 0.1 s, at a moment when no page was being asked for. (Drawn there too, its first answer would spare the
server more; but a Panel pane given its content before it was ever shown sends the browser a change of its
stylesheets with its next update, which BokehJS rejects, "Out of bounds", and the page no longer redraws.)
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from store.access import Access

log = logging.getLogger(__name__)

REFILL_DELAY_S = 0.5  # after the last visitor's browser has drawn its page


def _stamp(path: Path) -> tuple[int, int] | None:
    """The store file's identity (a sync swaps in a new file); None when it is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


class SparePage:
    """One prebuilt app, kept for the access and store file it was built for. ``build(access)`` builds an app; the
    app must have a ``store_path``."""

    def __init__(self, build: Callable[[Access], Any], refill_delay_s: float = REFILL_DELAY_S):
        self._build = build
        self._delay = refill_delay_s
        self._lock = threading.Lock()
        self._spare: tuple[tuple, Any] | None = None  # ((access, store path, file stamp), app)
        self._pending = False  # a refill is scheduled

    def take(self, access: Access, store_path: Path) -> Any | None:
        """The spare, if it was built for ``access`` and the store file as it is now (it is then no longer spare);
        else None."""
        key = (access, Path(store_path), _stamp(Path(store_path)))
        with self._lock:
            if self._spare is None or self._spare[0] != key:
                return None
            app, self._spare = self._spare[1], None
        return app

    def fill(self, access: Access) -> None:
        """Build a spare for ``access`` now, outside any session (in a context of its own, so nothing of the
        session being served, if any, reaches it). A failure is logged and leaves no spare."""
        try:
            app = contextvars.Context().run(self._build, access)
        except Exception:  # noqa: BLE001 - the next visitor's own build reports whatever this was
            log.warning("building a spare page failed; visitors' pages are built for them", exc_info=True)
            return
        path = Path(app.store_path)
        with self._lock:
            self._spare = ((access, path, _stamp(path)), app)

    def refill_later(self, access: Access) -> None:
        """Schedule a spare for ``access`` on the running event loop, ``refill_delay_s`` from now (one at a time;
        nothing without a running loop)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        with self._lock:
            if self._pending:
                return
            self._pending = True

        def refill():
            with self._lock:
                self._pending = False
                key = self._spare[0] if self._spare is not None else None
            if key is None or key[0] != access or key[2] != _stamp(key[1]):  # (none, another's, or stale)
                self.fill(access)

        # (run in a fresh context: the call_later copies the serving session's, which holds its document)
        loop.call_later(self._delay, refill, context=contextvars.Context())
