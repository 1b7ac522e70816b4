"""The next visitor's app, built ahead: handed out once, only to the access and store file it was built for, built
outside any session (so its first answer is drawn into it), and rebuilt on the event loop after a page is served."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from types import SimpleNamespace

import panel as pn
import pytest
from bokeh.document import Document

from artemis_panel.spare_page import SparePage
from store.access import Access

ANA = Access(user="ana", role="analyst", brands=("Artemis Burgers",))


def run_loop(main):
    """``asyncio.run(main())`` on a thread of its own (the browser tests' driver may hold this thread's loop)."""
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("value", asyncio.run(main())))
    thread.start()
    thread.join(30)
    return out["value"]


@pytest.fixture
def store_file(tmp_path):
    path = tmp_path / "store.duckdb"
    path.write_bytes(b"one")
    return path


def counting_builder(store_file):
    built = []

    def build(access):
        app = SimpleNamespace(access=access, store_path=store_file, n=len(built))
        built.append(app)
        return app

    return build, built


def test_a_spare_goes_once_to_the_access_it_was_built_for(store_file):
    build, built = counting_builder(store_file)
    spares = SparePage(build)
    spares.fill(ANA)
    assert spares.take(Access.everything(), store_file) is None  # (someone else: their own app)
    assert spares.take(ANA, store_file) is built[0]
    assert spares.take(ANA, store_file) is None  # (handed out: never shared by two sessions)


def test_a_spare_from_a_store_file_since_replaced_is_not_handed_out(store_file):
    build, _ = counting_builder(store_file)
    spares = SparePage(build)
    spares.fill(ANA)
    replacement = store_file.with_name("new.duckdb")
    replacement.write_bytes(b"two")
    os.replace(replacement, store_file)  # (as a sync swaps in a new file)
    assert spares.take(ANA, store_file) is None


def test_a_failed_build_leaves_no_spare_and_says_so(store_file, caplog):
    def build(access):
        raise RuntimeError("store unreadable")

    spares = SparePage(build)
    spares.fill(ANA)
    assert spares.take(ANA, store_file) is None
    assert "building a spare page failed" in caplog.text and "store unreadable" in caplog.text


def test_the_spare_is_built_outside_the_session_that_scheduled_it(store_file):
    """A page is served with Panel's current document set; the spare built after it must not see that document (its
    first answer would go to that session instead of being drawn into the spare)."""
    seen = []

    def build(access):
        seen.append(pn.state.curdoc)
        return SimpleNamespace(store_path=store_file)

    async def serve_then_wait():
        spares = SparePage(build, refill_delay_s=0.01)
        pn.state.curdoc = Document()  # (what serving a session leaves set in this context)
        spares.refill_later(ANA)
        await asyncio.sleep(0.2)
        return spares

    spares = run_loop(serve_then_wait)
    assert seen == [None]
    assert spares.take(ANA, store_file) is not None


def test_refills_build_only_what_is_missing_or_stale(store_file):
    build, built = counting_builder(store_file)

    async def run():
        spares = SparePage(build, refill_delay_s=0.01)
        spares.refill_later(ANA)
        spares.refill_later(ANA)  # (one refill at a time)
        await asyncio.sleep(0.2)
        assert len(built) == 1
        spares.refill_later(ANA)  # (a fresh spare for this access is there: nothing to do)
        await asyncio.sleep(0.2)
        assert len(built) == 1
        shutil.copy(store_file, store_file.with_name("copy"))
        os.replace(store_file.with_name("copy"), store_file)  # (the store file swapped: the spare is stale)
        spares.refill_later(ANA)
        await asyncio.sleep(0.2)
        assert len(built) == 2
        assert spares.take(ANA, store_file) is built[1]
        spares.refill_later(Access.everything())  # (another visitor's access: built for it)
        await asyncio.sleep(0.2)
        assert len(built) == 3 and spares.take(Access.everything(), store_file) is built[2]
        return True

    run_loop(run)


def test_without_a_running_loop_nothing_is_scheduled(store_file):
    build, built = counting_builder(store_file)
    SparePage(build).refill_later(ANA)
    assert built == []


def test_a_spare_app_is_the_app_a_session_would_build(demo_store, monkeypatch):
    """The real thing: the app kept as spare, started by the session that takes it, shows the same Measure tab as
    an app built for that session."""
    from artemis_panel.app import SPARE_PAGES, ArtemisApp

    monkeypatch.setenv("ARTEMIS_STORE", str(demo_store))
    spares = SparePage(SPARE_PAGES._build)
    spares.fill(Access.everything())
    app = spares.take(Access.everything(), demo_store)
    assert app.measure.renders == 0  # (not started: its first question is the session's to ask)
    app.start()
    fresh = ArtemisApp(demo_store, access=Access.everything())
    assert app.measure.renders == 1 and fresh.measure.renders == 1
    assert app.measure._status_html() == fresh.measure._status_html()
    assert app.measure._table.value.equals(fresh.measure._table.value)
