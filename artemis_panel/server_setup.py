"""Run once per server process before it answers (``panel serve --setup artemis_panel/server_setup.py``).

Without it the first visitor waited for everything a process does once: importing the app (Panel, HoloViews,
Bokeh's models, the store and jobs packages: about 6 s on a laptop), making the store ready (syncing the
bundled demo run into an empty store) and the first page's one-off costs. Here they happen before the server
takes requests: the store is made ready, the process's shared reader opens it (and warms it in the
background), and one page is built in a throwaway document, with its Measure queries, checked by Bokeh's
validation (which each session's page then skips) and dropped. Nothing
here may stop the server: a failure is logged, and the sessions report it as they would have. Then the first
visitor's app is built and kept as the spare (``artemis_panel.spare_page``).

Last, everything the process holds by then (the imported modules, their classes and functions: about 275,000
objects) is moved out of the garbage collector's way (``gc.freeze``). Python's full collection walks every tracked
object, holding the interpreter the while: on the 1M-row bench store one took 211 ms in the middle of a filter
change, once every 30 or so changes, stalling every session on the server at once. What the sessions make later is
collected as before.
"""

from __future__ import annotations

import atexit
import gc
import logging
import time

log = logging.getLogger("artemis_panel.server_setup")


def prepare() -> None:
    t0 = time.perf_counter()
    store = _build_one_page()
    gc.collect()  # (the throwaway page is garbage by now: only what lives on is frozen)
    gc.freeze()
    atexit.register(gc.unfreeze)  # (at exit, everything is finalised as usual)
    if store is not None:
        from artemis_panel.app import SPARE_PAGES
        from store.access import Access

        SPARE_PAGES.fill(Access.everything())  # the first visitor's app (after the freeze: collected once let go)
        log.info("server set-up: app imported, store %s ready, one page built in %.1f s; %d objects out of the "
                 "garbage collector's way", store, time.perf_counter() - t0, gc.get_freeze_count())


def _build_one_page():
    """The store made ready, the process's shared reader opened (which warms the store) and one page built, as every
    session does; the store's path, or None when that failed."""
    try:
        from bokeh.document import Document

        from artemis_panel.app import ArtemisApp
        from store.access import Access

        app = ArtemisApp(access=Access.everything())
        doc = Document()
        app.template().server_doc(doc)
        _validate_once(doc)
        return app.store_path
    except Exception:  # noqa: BLE001 - the sessions report whatever this was
        log.warning("server set-up did not complete; sessions will do it themselves", exc_info=True)
        return None


def _validate_once(doc) -> None:
    """Bokeh's integrity checks of a page's models (its warnings go to the log), here on the page built at set-up,
    and no longer on each session's: every session's page is built by the same code, and the checks walked all of its
    models (about 35 ms a page, before the page could go out)."""
    from bokeh.settings import settings

    doc.validate()
    settings.perform_document_validation.set_value(False)


prepare()
