"""``GET /health``: whether this server process can read its store, for a load balancer or an orchestrator.

A ``panel serve --plugins artemis_panel.health`` module (``artemis serve`` adds it). It answers without
a login, so it says nothing about any brand: 200 with the store's schema version, how long ago a sync
last published it and this process's open sessions; 503 when the store cannot be read (missing, or
a file that does not open), with the reason's kind only.
"""

from __future__ import annotations

import asyncio
import os
import time

from tornado import web


def _probe() -> dict:
    from store.paths import default_store
    from store.reader import shared_reader

    path = default_store().expanduser().resolve()
    reader = shared_reader(path)
    version = reader.schema_version
    reader.execute("SELECT count(*) FROM runs")  # (the tables answer, not just the file's header)
    return {"schema_version": version, "store_age_s": round(time.time() - os.stat(path).st_mtime, 1)}


def _sessions() -> int:
    import panel as pn

    return int((pn.state.session_info or {}).get("live", 0))


class HealthHandler(web.RequestHandler):
    async def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        try:
            info = await asyncio.to_thread(_probe)
        except Exception as e:  # noqa: BLE001 - any failure means "not healthy"
            self.set_status(503)
            self.write({"status": "unavailable", "reason": type(e).__name__, "pid": os.getpid()})
            return
        self.write({"status": "ok", **info, "sessions": _sessions(), "pid": os.getpid()})


ROUTES = [(r"/health", HealthHandler)]
