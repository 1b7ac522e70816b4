"""Work off the event loop: a view's slow step (reading the store, building the response engine, an
optimisation) runs in a worker thread with the view's loading indicator on, and its result is applied
on the next tick (Bokeh models must be changed under the document lock). Only the latest request's
result is applied. Outside a server (scripts, unit tests) the work runs at once."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

import panel as pn

log = logging.getLogger(__name__)


class Background:
    def __init__(self, layout: pn.viewable.Viewable, name: str):
        self.layout = layout
        self.name = name
        self._token = 0

    def run(self, work: Callable[[], Any], done: Callable[[Any], None],
            failed: Callable[[Exception], None] | None = None) -> None:
        """``done(work())``; a failure goes to ``failed``, by default shown as a notification (and logged)."""
        failed = failed or self.failed
        self._token += 1
        if pn.state.curdoc is None or pn.state.curdoc.session_context is None:
            try:
                result = work()
            except Exception as e:  # noqa: BLE001 - shown to the user, not a broken page
                failed(e)
                return
            done(result)
            return
        token = self._token
        doc = pn.state.curdoc

        async def go() -> None:
            self.layout.loading = True
            try:
                result, error = await asyncio.to_thread(work), None
            except Exception as e:  # noqa: BLE001
                result, error = None, e

            def apply() -> None:
                try:
                    if token != self._token:
                        return
                    if error is not None:
                        failed(error)
                    else:
                        done(result)
                except Exception as e:  # noqa: BLE001
                    self.failed(e)
                finally:
                    if token == self._token:
                        self.layout.loading = False

            doc.add_next_tick_callback(apply)

        pn.state.execute(go, schedule=True)

    def failed(self, e: Exception) -> None:
        """Bad input (ValueError, PlanError among them) is said as it is; anything else is also logged."""
        if isinstance(e, ValueError):
            notify(f"{self.name}: {e}", error=True)
        else:
            log.exception("%s failed", self.name)
            notify(f"{self.name} failed ({type(e).__name__}: {e})", error=True)


def in_document(fn: Callable[[], None]) -> None:
    """Run ``fn`` (which changes Bokeh models) under the document lock: on the next tick when served (widget
    callbacks may run on Panel's worker threads, which do not hold it), at once otherwise."""
    doc = pn.state.curdoc
    if doc is None or doc.session_context is None:
        fn()
    else:
        doc.add_next_tick_callback(fn)


def notify(message: str, error: bool = False) -> None:
    """A toast where the page has notifications (served), a log line otherwise."""
    if pn.state.notifications is not None:
        (pn.state.notifications.error if error else pn.state.notifications.success)(message, duration=8000)
    else:
        (log.warning if error else log.info)("%s", message)
