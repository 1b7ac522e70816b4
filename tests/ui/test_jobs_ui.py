"""Jobs in Chromium: launch a tiny local training job from the form, watch it finish, pick its run."""

from __future__ import annotations

from jobs.demo_data import generate_demo_dataset
from tests.ui.conftest import status


def open_tab(page, name: str) -> None:
    page.locator(".bk-tab", has_text=name).first.click()


def set_number(page, css: str, value: int) -> None:
    box = page.locator(f".{css} input").first
    box.fill(str(value))
    box.press("Tab")


def test_launch_a_local_training_job_and_select_its_run(page, tmp_path):
    # Another brand than the bundled demo run's, so other sessions keep showing that run.
    dataset = generate_demo_dataset(tmp_path / "tacos", weeks=70, seed=5, brand="luna-tacos")
    open_tab(page, "Jobs")
    page.locator(".jb-dataset input").fill(str(dataset))
    page.locator(".jb-dataset input").press("Tab")
    for css, value in (("jb-draws", 30), ("jb-tune", 30), ("jb-chains", 1)):
        set_number(page, css, value)
    page.locator(".jb-launch button").click()

    # the job is listed at once, then runs to the end (compiling the model takes most of a minute)
    page.wait_for_function(
        """() => { const find = (root) => { const el = root.querySelector('span.jobs-status');
             if (el) return el; for (const h of root.querySelectorAll('*')) { if (h.shadowRoot) {
             const f = find(h.shadowRoot); if (f) return f; } } return null; };
             const el = find(document); return el && el.dataset.latest === 'succeeded'; }""",
        polling=500, timeout=400_000)
    st = status(page, "jobs")
    assert st["jobs"] == "1"
    row = page.locator(".jb-table .tabulator-row").first
    assert "succeeded" in row.inner_text()
    run_id = row.locator(".tabulator-cell[tabulator-field='detail']").inner_text().strip()
    assert run_id

    # synced into the store: its brand and run are in the sidebar's pickers
    brand = page.locator(".f-brand select")
    page.wait_for_function(
        """(el) => [...el.options].some(o => o.textContent === 'Luna Tacos')""",
        arg=brand.element_handle(), timeout=60_000)
    brand.select_option("Luna Tacos")
    run = page.locator(".f-run select")
    page.wait_for_function(
        """([el, id]) => [...el.options].some(o => o.textContent.startsWith(id))""",
        arg=[run.element_handle(), run_id], timeout=30_000)
    label = next(t for t in run.locator("option").all_inner_texts() if t.startswith(run_id))
    run.select_option(label=label)
    assert run.evaluate("el => el.options[el.selectedIndex].textContent").startswith(run_id)

    # the job just launched is the selected one: its log shows the training's own lines
    page.wait_for_function(
        """() => { const find = (root) => { const el = root.querySelector('pre.jb-log-tail');
             if (el) return el; for (const h of root.querySelectorAll('*')) { if (h.shadowRoot) {
             const f = find(h.shadowRoot); if (f) return f; } } return null; };
             const el = find(document); return el && el.textContent.includes('fitting national'); }""",
        timeout=30_000)
    page.screenshot(path=str(tmp_path / "jobs.png"), full_page=True)
    assert (tmp_path / "jobs.png").stat().st_size > 10_000
