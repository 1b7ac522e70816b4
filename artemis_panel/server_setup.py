"""Run once per server process before it answers (``panel serve --setup artemis_panel/server_setup.py``).

Without it the first visitor waited for everything a process does once: importing the app (Panel, HoloViews,
Bokeh's models, the store and jobs packages: about 6 s on a laptop), making the store ready (syncing the
bundled demo run into an empty store) and the first page's one-off costs. Here they happen before the server
takes requests: the store is made ready, the process's shared reader opens it (and warms it in the
background), and one page is built in a throwaway document, with its Measure queries, and dropped. Nothing
here may stop the server: a failure is logged, and the sessions report it as they would have.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger("artemis_panel.server_setup")


def prepare() -> None:
    t0 = time.perf_counter()
    try:
        from bokeh.document import Document

        from artemis_panel.app import ArtemisApp
        from store.access import Access

        # (as every session: the store made ready, the process's shared reader opened, which warms the store)
        app = ArtemisApp(access=Access.everything())
        app.template().server_doc(Document())
    except Exception:  # noqa: BLE001 - the sessions report whatever this was
        log.warning("server set-up did not complete; sessions will do it themselves", exc_info=True)
        return
    log.info("server set-up: app imported, store %s ready, one page built in %.1f s", app.store_path,
             time.perf_counter() - t0)


prepare()
