"""The HTML report opens in Chromium from a file, with no server and no network: charts drawn, tables there."""

from __future__ import annotations

from artemis_panel.report import build_report
from store.reader import StoreReader
from store.sync import sync
from tests.demo_runs import bundled_run, copy_demo_run


def test_the_report_opens_in_chromium_without_a_server(browser, tmp_path):
    runs = tmp_path / "runs"
    copy_demo_run(runs, bundled_run().name)
    copy_demo_run(runs, "2026-01-03T00-00-00Z-ddddddd", created_at="2026-01-03T00:00:00Z", draws=800)
    store = tmp_path / "store.duckdb"
    sync(runs, store)
    reader = StoreReader(store)
    ids = [bundled_run().name, "2026-01-03T00-00-00Z-ddddddd"]
    report = tmp_path / "report.html"
    report.write_text(build_report(reader, ids), encoding="utf-8")
    reader.close()

    context = browser.new_context(viewport={"width": 1300, "height": 1000}, offline=True)
    asked: list[str] = []

    def block(route):  # anything but the file itself would need a network
        asked.append(route.request.url)
        route.abort()

    context.route(lambda url: not url.startswith("file:"), block)
    page = context.new_page()
    page.goto(report.as_uri())
    page.locator("canvas").first.wait_for(timeout=30_000)
    assert page.locator(".bk-Canvas, canvas").count() >= 2  # the forest plot and the bars
    assert page.locator("table.report-review tbody tr").count() == 6
    assert page.locator("table.report-diff").inner_text().count("sampler.draws") == 1
    assert asked == []
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 20_000
    context.close()
