"""Forecast and Maximize in Chromium: edit the plan in the table, optimise a budget, open it in Forecast."""

from __future__ import annotations

import pandas as pd
import pytest

from store.paths import BUNDLED_DEMO_RUNS
from tests.ui.conftest import status, wait_renders


@pytest.fixture(scope="module")
def spend() -> pd.DataFrame:
    (folder,) = [p for p in BUNDLED_DEMO_RUNS.iterdir() if p.is_dir()]
    rows = pd.read_parquet(folder / "contributions.parquet")
    return rows[rows.kind == "media"].pivot_table(index="date", columns="variable", values="spend", aggfunc="sum")


def open_tab(page, name: str) -> None:
    page.locator(".bk-tab", has_text=name).first.click()


def edit_scale(page, variable: str, value: str) -> None:
    """Type ``value`` into a variable's scale cell and commit it with Enter, as a user does, and wait until
    the browser's cell shows it (the caller then waits for the server's redraw)."""
    cell = page.locator(".fc-scales .tabulator-row", has_text=variable).first \
        .locator(".tabulator-cell[tabulator-field='scale']")
    cell.click()
    editor = cell.locator("input")
    editor.fill(value)
    editor.press("Enter")
    page.wait_for_function("([el, v]) => !el.querySelector('input') && Number(el.textContent.trim()) === Number(v)",
                           arg=[cell.element_handle(), value], polling=100, timeout=10_000)


def test_editing_a_scale_in_the_plan_table_updates_the_forecast(page, spend, tmp_path):
    open_tab(page, "Forecast")
    st = wait_renders(page, 1, "forecast")
    last_year = spend.iloc[len(spend) - 52: len(spend) - 39]
    assert float(st["spend"]) == pytest.approx(last_year.to_numpy().sum(), rel=1e-9)
    assert st["weeks"] == "13"
    n = int(st["renders"])
    edit_scale(page, "Paid Search_Brand", "2")
    st = wait_renders(page, n + 1, "forecast")
    want = last_year.to_numpy().sum() + last_year["Paid Search_Brand"].sum()
    assert float(st["spend"]) == pytest.approx(want, rel=1e-9)
    page.screenshot(path=str(tmp_path / "forecast.png"), full_page=True)
    assert (tmp_path / "forecast.png").stat().st_size > 10_000


def test_optimise_then_open_the_split_in_forecast(page, spend, tmp_path):
    open_tab(page, "Maximize")
    wait_renders(page, 0, "maximize")
    page.locator(".mx-budget input").fill("50000000")
    page.locator(".mx-budget input").press("Enter")
    page.locator(".mx-go button").click()
    st = wait_renders(page, 1, "maximize")
    assert float(st["budget"]) == pytest.approx(50_000_000, rel=1e-9)
    assert float(st["optimal"]) >= float(st["current"])
    rows = page.locator(".mx-table .tabulator-row")
    assert rows.count() == spend.shape[1]
    page.screenshot(path=str(tmp_path / "maximize.png"), full_page=True)
    n = int(status(page, "forecast")["renders"]) if page.locator("span.forecast-status").count() else 0
    page.locator(".mx-open button").click()
    st = wait_renders(page, n + 1, "forecast")
    assert float(st["spend"]) == pytest.approx(50_000_000, rel=1e-6)
