"""The server's set-up script (``panel serve --setup artemis_panel/server_setup.py``), run as the server runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, runpy
runpy.run_path("artemis_panel/server_setup.py")
from artemis_panel.app import SPARE_PAGES
from store.access import Access
print(int(SPARE_PAGES._spare is not None and SPARE_PAGES._spare[0][0] == Access.everything()))
print(gc.get_freeze_count(), len(gc.get_objects(2)))
from bokeh.settings import settings
print(int(settings.perform_document_validation()))
"""


def test_set_up_readies_the_store_and_moves_the_process_out_of_the_collectors_way(tmp_path):
    """After set-up the demo run is in the store, and what the process holds (the imported app: hundreds of thousands
    of objects) is out of the garbage collector's full collections, which otherwise walk it all, holding every
    session up for about 200 ms each time; the process still exits cleanly (everything finalised). The first visitor's
app is ready, built ahead, and sessions' pages skip the Bokeh validation the set-up page had."""
    env = {**os.environ, "ARTEMIS_DATA_DIR": str(tmp_path)}
    env.pop("ARTEMIS_STORE", None)
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    spare, frozen, oldest, validating = (int(x) for x in done.stdout.split()[-4:])
    assert frozen > 100_000, f"only {frozen} objects frozen"
    # (what full collections still walk is the first visitor's app, built after the freeze: a few thousand objects)
    assert oldest < frozen / 20, f"{oldest} objects left for full collections (frozen: {frozen})"
    assert spare == 1, "no spare app for the first visitor (who sees everything without a login)"
    assert "leaked" not in done.stderr, done.stderr[-2000:]
    # (the page built at set-up was validated; sessions' pages, built by the same code, skip Bokeh's checks)
    assert validating == 0, "each session's page is still validated by Bokeh"

    from store.reader import StoreReader

    store = tmp_path / "artemis.duckdb"
    assert store.exists()
    reader = StoreReader(store)
    try:
        assert len(reader.query("select distinct run_id from contributions")) == 1
    finally:
        reader.close()
