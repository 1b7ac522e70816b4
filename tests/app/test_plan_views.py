"""The Forecast and Maximize tabs' logic, driven as their widgets drive it, on a copy of the demo store."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from store.paths import BUNDLED_DEMO_RUNS


@pytest.fixture
def plan_state(demo_store, tmp_path):
    from artemis_panel.state import AppState
    from store.reader import StoreReader

    path = tmp_path / "store.duckdb"
    shutil.copyfile(demo_store, path)
    reader = StoreReader(path)
    yield AppState(reader), path
    reader.close()


@pytest.fixture
def forecast(plan_state):
    from artemis_panel.views.forecast import ForecastView

    state, path = plan_state
    view = ForecastView(state=state, store_path=path)
    view.show()
    return view


@pytest.fixture(scope="module")
def spend(demo_run_id):
    rows = pd.read_parquet(BUNDLED_DEMO_RUNS / demo_run_id / "contributions.parquet")
    media = rows[rows["kind"] == "media"]
    return media.pivot_table(index="date", columns="variable", values="spend", aggfunc="sum")


def _status(view) -> dict:
    import re

    return dict(re.findall(r'data-([\w-]+)="([^"]*)"', view._status.object))


def test_forecast_opens_on_last_years_spend_of_the_next_13_weeks(forecast, spend):
    status = _status(forecast)
    assert int(status["renders"]) >= 1 and status["weeks"] == "13"
    last_year = spend.iloc[len(spend) - 52: len(spend) - 39].to_numpy().sum()
    assert float(status["spend"]) == pytest.approx(last_year, rel=1e-9)
    assert forecast._start.value == (spend.index[-1] + pd.Timedelta(weeks=1)).date()
    assert len(forecast._chart.source.data["mean"]) == 13


def test_scaling_a_variable_in_the_table_changes_the_plan_and_the_forecast(forecast, spend):
    before = _status(forecast)
    table = forecast._scales.value
    row = int(np.flatnonzero(table["variable"] == "Paid Social_Value")[0])
    forecast._scale_edited(SimpleNamespace(row=row, column="scale", value=1.5))
    after = _status(forecast)
    extra = 0.5 * spend["Paid Social_Value"].iloc[len(spend) - 52: len(spend) - 39].sum()
    assert float(after["spend"]) - float(before["spend"]) == pytest.approx(extra, rel=1e-9)
    assert float(after["total"]) > float(before["total"])
    assert forecast._scales.value.loc[row, "scale"] == pytest.approx(1.5)


def test_a_scale_edit_whose_data_lands_before_its_event_still_changes_the_plan(forecast):
    """Served with --num-threads, the edit's data patch can be handled before its table-edit event."""
    from panel.models.tabulator import TableEditEvent

    from artemis_panel.views.edit_table import EditTable

    table = forecast._scales
    assert isinstance(table, EditTable) and isinstance(forecast._week_table, EditTable)
    row = int(np.flatnonzero(table.value["variable"] == "CTV_Brand")[0])
    want = forecast.plan.to_numpy().sum() + forecast.base["CTV_Brand"].sum()
    data = {c: list(table.value[c]) for c in table.value.columns}
    data["scale"][row] = 2.0
    table._process_events({"data": data})
    table._process_event(TableEditEvent(table.get_root(), "scale", row, value=2.0, old=1.0))
    assert forecast.plan.to_numpy().sum() == pytest.approx(want, rel=1e-12)
    assert float(_status(forecast)["spend"]) == pytest.approx(want, rel=1e-9)

def test_a_bad_scale_is_refused_and_the_plan_kept(forecast):
    before = forecast.plan.copy()
    forecast._scale_edited(SimpleNamespace(row=0, column="scale", value="-2"))
    pd.testing.assert_frame_equal(forecast.plan, before)


def test_a_week_cell_edit_changes_that_week_only(forecast):
    var = forecast.plan.columns[2]
    before = forecast.plan.copy()
    forecast._week_edited(SimpleNamespace(row=4, column=var, value=123456.0))
    assert forecast.plan.iloc[4][var] == 123456.0
    diff = (forecast.plan != before).to_numpy()
    assert diff.sum() == 1


def test_a_group_factor_scales_every_variable_of_the_group(forecast):
    forecast._group_by.value = "channel"
    forecast._group.value = "Linear TV"
    forecast._factor.value = 0.5
    forecast._apply_group()
    tv = [v for v in forecast.plan.columns if v.startswith("Linear TV")]
    assert np.allclose(forecast.plan[tv].to_numpy(), forecast.base[tv].to_numpy() * 0.5)
    others = [v for v in forecast.plan.columns if v not in tv]
    assert np.allclose(forecast.plan[others].to_numpy(), forecast.base[others].to_numpy())


def test_scenarios_save_reload_and_compare(forecast):
    forecast.set_scale("CTV_Brand", 2.0)
    saved_plan = forecast.plan.copy()
    saved_total = float(_status(forecast)["total"])
    sid = forecast.save("double CTV")
    forecast.set_scale("CTV_Brand", 1.0)
    forecast.compare(sid)
    assert "double CTV" in forecast._comparison.object
    assert np.allclose(forecast._chart.other.data["mean"].sum(), saved_total, rtol=1e-9)
    forecast.load(sid)
    pd.testing.assert_frame_equal(forecast.plan, saved_plan, check_freq=False)
    assert float(_status(forecast)["total"]) == pytest.approx(saved_total, rel=1e-12)


def test_an_uploaded_plan_with_an_unknown_variable_is_refused(forecast):
    before = forecast.plan.copy()
    csv = "date,variable,spend\n2024-12-30,Radio_Brand,100\n"
    forecast._upload.filename = "plan.csv"
    forecast._uploaded(SimpleNamespace(new=csv.encode()))
    pd.testing.assert_frame_equal(forecast.plan, before)


def test_an_uploaded_plan_replaces_the_plan(forecast):
    start = forecast.plan.index[0]
    rows = [f"{(start + pd.Timedelta(weeks=w)).date()},CTV_Brand,{1000 * (w + 1)}" for w in range(4)]
    forecast._uploaded(SimpleNamespace(new=("date,variable,spend\n" + "\n".join(rows)).encode()))
    assert len(forecast.plan) == 4
    assert forecast.plan["CTV_Brand"].tolist() == [1000.0, 2000.0, 3000.0, 4000.0]
    assert forecast.plan.drop(columns="CTV_Brand").to_numpy().sum() == 0


def test_the_csv_export_has_a_row_per_week(forecast):
    out = pd.read_csv(forecast._csv())
    assert len(out) == 13 and {"transactions", "lo94", "hi94", "spend: CTV_Brand"} <= set(out.columns)
    assert out["spend"].sum() == pytest.approx(forecast.plan.to_numpy().sum())


@pytest.fixture
def maximize(plan_state):
    from artemis_panel.views.maximize import MaximizeView

    state, path = plan_state
    view = MaximizeView(state=state, store_path=path)
    view.show()
    return view


def test_maximize_takes_a_budget_only_once_the_runs_engine_is_in(plan_state, monkeypatch):
    """While the run's engine loads, the budget and the solve buttons are disabled: the engine's arrival sets the
    budget to the period's current spend, which would replace what the user had typed meanwhile."""
    from artemis_panel.views.maximize import MaximizeView

    state, path = plan_state
    view = MaximizeView(state=state, store_path=path)
    inputs = [view._budget, view._goal, view._go, view._sweep_button]
    assert all(w.disabled for w in inputs)  # (not shown yet: no engine)
    loading = []
    monkeypatch.setattr(view._bg, "run", lambda work, done, failed=None: loading.append((work, done)))
    view.show()
    assert all(w.disabled for w in inputs) and len(loading) == 1
    work, done = loading.pop()
    done(work())  # the engine is in
    assert not any(w.disabled for w in inputs)
    assert view._budget.value == pytest.approx(float(view.problem.reference.sum()), abs=0.01)
    view.open_run()  # (as when the session's run changes)
    assert all(w.disabled for w in inputs)


def test_maximize_splits_the_budget_and_beats_the_current_split(maximize):
    maximize._budget.value = 50_000_000.0
    maximize.optimise()
    a = maximize.allocation
    assert a.optimal.sum() == pytest.approx(50_000_000.0, rel=1e-9)
    assert a.value_optimal.mean() >= a.value_current.mean()
    table = maximize._table.value
    assert table["optimal"].sum() == pytest.approx(50_000_000.0, rel=1e-9)
    bars = maximize._bars.source.data
    assert bars["variable"] == table["variable"].tolist()
    assert np.allclose(bars["optimal"], table["optimal"]) and np.allclose(bars["current"], table["current"])


def test_maximize_respects_locks_and_bounds_from_the_table(maximize):
    maximize._pct.value = 10.0
    bounds = maximize._bounds.value.copy()
    bounds.loc[0, "locked"] = True
    maximize._bounds.value = bounds
    maximize.optimise()
    a = maximize.allocation
    assert a.optimal[0] == pytest.approx(a.current[0], rel=1e-9)
    # (the table shows bounds to the cent)
    assert (a.optimal <= a.current * 1.1 + 0.01).all() and (a.optimal >= a.current * 0.9 - 0.01).all()


def test_target_mode_finds_a_budget_reaching_the_goal(maximize):
    maximize._mode.value = "Target"
    maximize._goal.value = 10_000_000.0
    maximize.optimise()
    a = maximize.allocation
    assert a.value_optimal.mean() >= 10_000_000.0 * (1 - 1e-9)
    assert maximize._budget.value == pytest.approx(a.budget, abs=0.01)


def test_opening_the_optimum_in_forecast_hands_over_the_plan(plan_state, maximize):
    from artemis_panel.views.forecast import ForecastView

    state, path = plan_state
    fc = ForecastView(state=state, store_path=path)
    fc.show()
    maximize._budget.value = 40_000_000.0
    maximize.optimise()
    maximize.open_in_forecast()
    assert float(_status(fc)["spend"]) == pytest.approx(40_000_000.0, rel=1e-9)
    assert np.allclose(fc.plan.sum(axis=0).to_numpy(), maximize.allocation.optimal)


def test_response_curve_and_sweep_are_drawn(maximize):
    maximize.optimise()
    maximize._curve_var.value = "Paid Search_Brand"
    curve = maximize._curve.curve.data
    assert len(curve["budget"]) == 41 and np.all(np.diff(curve["mean"]) >= 0)
    assert maximize._curve.points.data["label"] == ["current", "optimal"]
    maximize.sweep()
    sweep = maximize._sweep.source.data
    assert len(sweep["budget"]) == 9 and np.all(np.diff(sweep["incremental"]) > 0)
