"""The scheduled sync: one process per store syncs its sources every N seconds, while any number of app
processes keep reading the store (each sync publishes a new file atomically; readers switch to it on
their next query).

"One place" is enforced with an exclusive, non-blocking lock on ``<store>.schedule.lock``: a second
scheduler of the same store (another server process, a second container on the same volume) refuses to
start and names the process that holds it. A round that fails (S3 unreachable, a source gone) is logged
and retried at the next round; the store keeps its last good state.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import Callable, Sequence

from store.sources import SourceError
from store.sync import SyncReport, init_store, sync

log = logging.getLogger("artemis.schedule")


class ScheduleError(RuntimeError):
    """The schedule cannot start (bad interval, or another scheduler holds the store)."""


def parse_interval(text: str | float | int) -> float:
    """Seconds from ``90``, ``90s``, ``15m``, ``2h`` (at least 10 seconds)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(text))
    if not m:
        raise ScheduleError(f"sync interval {text!r}: expected seconds, or a number with s, m or h (e.g. 15m)")
    seconds = float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]
    if seconds < 10:
        raise ScheduleError(f"sync interval {text!r} is under 10 seconds")
    return seconds


def lock_path(store: Path) -> Path:
    return store.with_name(store.name + ".schedule.lock")


class _Holder:
    """The schedule lock, held for the life of the scheduler (the OS drops it however the process ends)."""

    def __init__(self, store: Path):
        self.path = lock_path(store)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(self.path, "a+")
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.fh.seek(0)
            holder = self.fh.read().strip() or "another process"
            self.fh.close()
            raise ScheduleError(f"a scheduled sync of {store} already runs ({holder}); "
                                "only one may run per store") from None
        self.fh.seek(0)
        self.fh.truncate()
        self.fh.write(f"pid {os.getpid()} on {os.uname().nodename}")
        self.fh.flush()

    def release(self) -> None:
        try:
            fcntl.flock(self.fh, fcntl.LOCK_UN)
        finally:
            self.fh.close()


def run_schedule(sources: Sequence[str], store: str | Path, every: float, endpoint_url: str | None = None,
                 rounds: int | None = None, stop: threading.Event | None = None,
                 on_round: Callable[[list[SyncReport], list[str]], None] | None = None) -> int:
    """Sync ``sources`` into ``store`` now and then every ``every`` seconds, until ``stop`` is set, SIGTERM
    or SIGINT arrives, or ``rounds`` rounds are done. Returns the number of rounds run. Raises
    ``ScheduleError`` if another scheduler holds the store."""
    store = Path(store).expanduser().resolve()
    holder = _Holder(store)
    stop = stop or threading.Event()
    restore = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            restore[sig] = signal.signal(sig, lambda *_: stop.set())
    done = 0
    try:
        init_store(store)
        while not stop.is_set():
            t0 = time.monotonic()
            reports, errors = [], []
            for uri in sources:
                try:
                    reports.append(sync(uri, store, endpoint_url=endpoint_url,
                                        say=lambda m: log.warning("%s", m)))
                except (SourceError, OSError) as e:
                    errors.append(f"{uri}: {e}")
                    log.error("scheduled sync of %s failed (retried next round): %s", uri, e)
            for r in reports:
                log.info("%s", r.line())
            done += 1
            if on_round:
                on_round(reports, errors)
            if rounds is not None and done >= rounds:
                break
            stop.wait(max(every - (time.monotonic() - t0), 0))
    finally:
        for sig, handler in restore.items():
            signal.signal(sig, handler)
        holder.release()
    return done
