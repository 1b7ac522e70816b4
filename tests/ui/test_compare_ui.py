"""Compare in Chromium: two runs of the demo brand side by side, then promote one and see new sessions open it."""

from __future__ import annotations

import pytest

from artemis_panel.startup import ensure_store
from store import registry as rg
from store.reader import StoreReader
from store.sync import sync
from tests.demo_runs import bundled_run, copy_demo_run
from tests.ui.conftest import wait_renders

OLDER = "2026-01-02T00-00-00Z-ccccccc"


@pytest.fixture(scope="module")
def second_run(app_data, app_url):
    """An older copy of the demo run, fitted with another config, synced into the served store."""
    runs = app_data / "compare-runs"
    copy_demo_run(runs, OLDER, created_at="2026-01-02T00:00:00Z", draws=800)
    store = app_data / "artemis.duckdb"
    ensure_store(store)  # as the app's first session does (the bundled demo run), if none has yet
    sync(runs, store)
    reader = StoreReader(store)
    yield store, reader, bundled_run().name
    # later tests expect the bundled run as the default: nothing stays promoted
    rg.set_status(store, reader, OLDER, "candidate", by="test")
    reader.close()


def test_compare_two_runs_and_promote_one(second_run, page, browser, app_url, tmp_path):
    store, reader, newest = second_run
    page.locator(".bk-tab", has_text="Compare").first.click()
    st = wait_renders(page, 1, "compare")
    assert st["runs"] == "2" and st["checks"] == "6" and st["variables"] == "12"
    assert len(st["worst"].split("|")) == 2
    metrics = page.locator(".cmp-metrics .tabulator-row")
    metrics.first.wait_for()
    assert any(t.startswith("Train MAPE %") for t in metrics.all_inner_texts())
    diff = page.locator(".cmp-diff .tabulator-row").all_inner_texts()
    assert len(diff) == 1 and "sampler.draws" in diff[0] and "800" in diff[0]
    curve_var = page.locator(".cmp-curve-var select")
    assert curve_var.locator("option").count() == 12  # a response curve for any media variable of the runs
    page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
    assert (tmp_path / "compare.png").stat().st_size > 10_000

    # promote the older run: it becomes the brand's reference run
    reg_run = page.locator(".reg-run select")
    label = next(t for t in reg_run.locator("option").all_inner_texts() if OLDER in t)
    reg_run.select_option(label=label)
    status = page.locator(".reg-status select")
    for _ in range(10):  # the run's current status arrives from the server after the run is picked
        status.select_option("promoted")
        page.wait_for_timeout(500)
        if status.input_value() == "promoted":
            break
    page.locator(".reg-notes textarea").fill("best holdout")
    page.locator(".reg-notes textarea").press("Tab")
    page.locator(".reg-save button").click()
    brand = rg.registry(reader).brand.iloc[0]
    for _ in range(60):  # saved off the event loop
        if rg.reference_run(reader, brand) == OLDER:
            break
        page.wait_for_timeout(500)
    assert rg.reference_run(reader, rg.registry(reader).brand.iloc[0]) == OLDER
    # this session's run picker marks it too
    page.locator(".f-run select option", has_text=f"★ {OLDER}").wait_for(state="attached")
    assert rg.history(reader, OLDER).notes.tolist()[0] == "best holdout"

    # a new session opens the promoted run
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    other = context.new_page()
    other.goto(app_url)
    wait_renders(other, 1)
    selected = other.locator(".f-run select").evaluate("el => el.options[el.selectedIndex].textContent")
    assert selected.startswith(f"★ {OLDER}")
    context.close()
