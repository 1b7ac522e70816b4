"""The dashboard in Chromium: first start on an empty store, Measure filters, selection, CSV, every tab."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from store.paths import BUNDLED_DEMO_RUNS
from tests.ui.conftest import cpu_seconds, status, wait_renders


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    (folder,) = [p for p in BUNDLED_DEMO_RUNS.iterdir() if p.is_dir()]
    df = pd.read_parquet(folder / "contributions.parquet")
    df["date"] = pd.to_datetime(df["date"])
    return df


def last_weeks(rows: pd.DataFrame, weeks: int) -> pd.DataFrame:
    end = rows.date.max()
    return rows[rows.date >= end - timedelta(weeks=weeks - 1)]


def ranked(df: pd.DataFrame, col: str) -> list[str]:
    media = df[df.kind == "media"]
    return media.groupby(col).contribution.sum().sort_values(ascending=False).index.tolist()


def table_groups(page) -> list[str]:
    cells = page.locator(".measure-table .tabulator-row .tabulator-cell[tabulator-field='group']")
    return [c.inner_text().strip() for c in cells.all()]


def test_first_start_shows_the_demo_run(page, rows, tmp_path):
    st = status(page)
    want = last_weeks(rows, 52)
    assert st["groups"].split("|") == ranked(want, "channel")
    assert float(st["total"]) == pytest.approx(want.contribution.sum(), rel=1e-4)
    assert page.locator(".kpi-card").count() == 5
    assert table_groups(page) == ranked(want, "channel")
    for tab in ("Measure", "Forecast", "Maximize", "Jobs", "Compare"):
        page.locator(".bk-tab", has_text=tab).first.click()
        if tab in ("Forecast", "Maximize"):
            wait_renders(page, 1 if tab == "Forecast" else 0, tab.lower())
        elif tab == "Jobs":
            page.locator(".jb-launch button").wait_for()
        elif tab == "Compare":
            page.locator(".reg-save button").wait_for()
        page.screenshot(path=str(tmp_path / f"{tab.lower()}.png"), full_page=True)
        assert (tmp_path / f"{tab.lower()}.png").stat().st_size > 10_000


def test_group_by_and_period_change_the_charts(page, rows):
    n = int(status(page)["renders"])
    page.locator(".f-group-by select").select_option(label="Pillar")
    st = wait_renders(page, n + 1)
    assert st["group-by"] == "pillar"
    assert st["groups"].split("|") == ranked(last_weeks(rows, 52), "pillar")
    page.locator(".f-period select").select_option(label="Last 13 weeks")
    st = wait_renders(page, n + 2)
    want = last_weeks(rows, 13)
    assert float(st["total"]) == pytest.approx(want.contribution.sum(), rel=1e-4)
    assert st["groups"].split("|") == ranked(want, "pillar")
    assert table_groups(page) == ranked(want, "pillar")


def test_the_page_loads_only_the_bundles_it_uses(app_url):
    """A first visit loads BokehJS, its widgets, Tabulator and Panel, but none of the bundles no page of the app uses:
    MathJax (1.8 MB of JavaScript no text here needs), BokehJS's WebGL bundle (every chart draws on a canvas) and
    es-module-shims (for ESM components the app has none of). The charts drawing is every other test's business."""
    with urllib.request.urlopen(app_url, timeout=60) as response:
        page = response.read().decode()
    scripts = re.findall(r'<script[^>]* src="([^"]+)"', page)
    names = [s.rsplit("/", 1)[-1].split("?")[0] for s in scripts]
    for needed in ("bokeh.min.js", "bokeh-widgets.min.js", "tabulator.min.js", "panel.min.js"):
        assert needed in names, f"{needed} missing from the page's scripts {names}"
    for unused in ("mathjax", "bokeh-gl", "es-module-shims"):
        assert unused not in page.lower(), f"the page still loads {unused}: {names}"


def test_the_page_asks_nothing_of_other_servers(browser, app_url):
    """A visit, its first draw and a redraw ask only the app's own server: no web font from Google Fonts (Panel's
    plain template asks for Lato), nothing another host could see or hold back."""
    context = browser.new_context(viewport={"width": 1500, "height": 1800})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    asked: list[str] = []
    pg.on("request", lambda request: asked.append(request.url))
    try:
        pg.goto(app_url)
        n = int(wait_renders(pg, 1)["renders"])
        pg.locator(".f-group-by select").select_option(label="Pillar")
        wait_renders(pg, n + 1)
        pg.wait_for_timeout(300)
    finally:
        context.close()
    own = urllib.parse.urlsplit(app_url).netloc
    hosts = {u: urllib.parse.urlsplit(u).netloc for u in asked if u.startswith(("http://", "https://"))}
    assert own in hosts.values()
    elsewhere = sorted(u for u, host in hosts.items() if host != own)
    assert not elsewhere, f"the page asked other servers for {elsewhere}"


def test_the_server_rests_when_nobody_asks_anything(page, app_server):
    """Once a page has been drawn and a filter changed, a server nobody asks anything uses (next to) no CPU.
    (Panel 1.10 served with threads kept a core busy from the first page on, for as long as it ran.)"""
    n = int(status(page)["renders"])
    page.locator(".f-group-by select").select_option(label="Message type")
    wait_renders(page, n + 1)
    time.sleep(1.0)
    pid = app_server[1].pid
    before = cpu_seconds(pid)
    time.sleep(3.0)
    used = cpu_seconds(pid) - before
    assert used < 0.5, f"the served app used {used:.2f} CPU-seconds in 3 s with nothing asked of it"


def test_a_redraw_reaches_the_browser_as_one_message(browser, app_url):
    """A filter change's redraw (every chart's data, the table, the cards) comes to the browser as one Bokeh message,
    which it applies together and lays out once; sent change by change (about 40 messages) it cost the browser a
    pass over the page per message."""
    context = browser.new_context(viewport={"width": 1500, "height": 1800})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    received: list[list[str]] = []  # the event kinds of each message content the server sent

    def listen(ws):
        def frame(payload):
            text = payload if isinstance(payload, str) else payload.decode("utf-8", "replace")
            if text.startswith('{"events"'):
                received.append([e.get("kind") for e in json.loads(text)["events"]])
        ws.on("framereceived", frame)

    pg.on("websocket", listen)
    try:
        pg.goto(app_url)
        n = int(wait_renders(pg, 1)["renders"])
        received.clear()
        pg.locator(".f-group-by select").select_option(label="Pillar")
        wait_renders(pg, n + 1)
        pg.wait_for_timeout(300)  # (anything sent after the redraw comes in too)
        with_data = [kinds for kinds in received if "ColumnDataChanged" in kinds]
        assert len(with_data) == 1, f"the redraw came in {len(with_data)} messages: {with_data}"
        # the area chart's bands and week points, the waterfall, the bars, the bubbles (this period, prior year),
        # the table
        assert with_data[0].count("ColumnDataChanged") == 7
    finally:
        context.close()


def test_the_table_shows_whole_group_names(page, rows):
    """Grouped by variable (the longest names), every group name in the table is shown whole, not cut off, and no
    cell's text is cut at the top or bottom by the rows' fixed height."""
    n = int(status(page)["renders"])
    page.locator(".f-group-by select").select_option(label="Variable")
    wait_renders(page, n + 1)
    cells = page.locator(".measure-table .tabulator-row .tabulator-cell[tabulator-field='group']")
    shown = cells.evaluate_all("els => els.map(e => [e.innerText.trim(), e.scrollWidth <= e.clientWidth])")
    assert [name for name, _ in shown] == ranked(last_weeks(rows, 52), "variable")[:len(shown)]
    assert [name for name, whole in shown if not whole] == []
    every = page.locator(".measure-table .tabulator-row .tabulator-cell")
    cut = every.evaluate_all("els => els.filter(e => e.scrollHeight > e.clientHeight).map(e => e.innerText)")
    assert every.count() > 20 and cut == []


def test_choosing_a_channel_filters_the_table(page, rows):
    n = int(status(page)["renders"])
    box = page.locator(".f-channels input[type='search']").first
    box.click()
    box.fill("OOH")
    page.locator(".f-channels .choices__item--choice", has_text="OOH").first.click()
    st = wait_renders(page, n + 1)
    assert st["groups"] == "OOH"
    assert table_groups(page) == ["OOH"]


def test_tapping_a_bar_filters_the_table(page, rows):
    order = ranked(last_weeks(rows, 52), "channel")
    n = int(status(page)["renders"])
    canvas = page.locator(".bk-Figure").nth(2)  # area, waterfall, bars, bubbles
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    # The largest bar is the first: tap low in its slot (the plot area starts after the y axis).
    page.mouse.click(box["x"] + 95, box["y"] + box["height"] - 110)
    st = wait_renders(page, n + 1)
    assert st["selection"] == order[0]
    assert table_groups(page) == [order[0]]


def test_csv_download_holds_the_table_rows(page, rows, tmp_path):
    # (a click while the loading overlay is up lands on the overlay: wait until no view is loading)
    page.wait_for_function(
        """() => { const busy = (root) => !!root.querySelector('.pn-loading') || [...root.querySelectorAll('*')]
                   .some(h => h.shadowRoot && busy(h.shadowRoot)); return !busy(document); }""", polling=200)
    button = page.locator(".measure-download").get_by_role("button", name="Download CSV")
    for attempt in range(3):  # a click the busy page drops (2 cores, other sessions) is clicked again
        try:
            with page.expect_download(timeout=20_000) as dl:
                button.click()
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    path = tmp_path / "measure.csv"
    dl.value.save_as(path)
    csv = pd.read_csv(path)
    want = last_weeks(rows, 52)
    media = want[want.kind == "media"].groupby("channel")
    assert csv["Group"].tolist() == ranked(want, "channel")
    np.testing.assert_allclose(csv["Spend"], media.spend.sum().loc[csv.Group].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(csv["Incremental transactions"],
                               media.contribution.sum().loc[csv.Group].to_numpy(), rtol=1e-9)
