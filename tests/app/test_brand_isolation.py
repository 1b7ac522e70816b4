"""Brand-level access in the query layer: a session allowed other brands reaches nothing of the demo brand's
through any query, scenario, registry entry, CV score, comparison, plan engine or report, whatever run id,
scenario id or brand list it crafts. Every call is first made as a session that may see the brand (it must
get data, so the denial below is the brand filter at work, not an empty store)."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
import yaml

from artemis_panel import compare_data as cd
from artemis_panel import plan_data as pdx
from artemis_panel.report import build_report
from jobs.response_engine import PlanError
from store import queries as q
from store import registry as rg
from store import scenarios as sc
from store.cv_results import cv_for_runs
from store.reader import StoreReader
from store.sync import sync
from tests.demo_runs import bundled_run, copy_demo_run, write_cv

BRAND = "Artemis Burgers"
SECOND = "2026-01-01T00-00-00Z-aaaaaaa"  # another run of the brand, with another config
OTHER_SESSIONS = [["Luna Tacos"], [], ["artemis burgers"], ["Artemis Burgers' OR '1'='1"], ["%"]]
ECHOED = ("start", "end", "prior_start", "prior_end")
WRITES = ("save_scenario", "set_status")
REFUSED = (ValueError, KeyError, PlanError, sc.ScenarioError, rg.RegistryError)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The demo run (and a second one) with a saved scenario, a registry entry and a CV of its model."""
    root = tmp_path_factory.mktemp("isolation")
    runs = root / "runs"
    shutil.copytree(bundled_run(), runs / bundled_run().name)
    copy_demo_run(runs, SECOND, created_at="2026-01-01T00:00:00Z", draws=800)
    manifest = json.loads((bundled_run() / "manifest.json").read_text())
    write_cv(runs, "cv-demo", config=yaml.safe_load((bundled_run() / "config.yaml").read_text()),
             fingerprint=manifest["dataset_fingerprint"])
    path = root / "store.duckdb"
    sync(runs, path)
    reader = StoreReader(path)
    run_id = bundled_run().name
    sid = sc.save_scenario(path, reader, run_id=run_id, name="plan A", kind="forecast", payload={"x": 1})
    rg.set_status(path, reader, run_id, "promoted", "reference", by="ana")
    yield path, reader, run_id, sid
    reader.close()


def calls(path, run_id, sid):
    """(name, fn(reader, brands)) for every way a session reads or changes a run's data."""
    span = dict(start="2022-01-01", end="2030-01-01")
    return [
        ("list_runs", lambda r, b: q.list_runs(r, b)),
        ("filter_options", lambda r, b: q.filter_options(r, run_id, b)),
        ("contributions_over_time", lambda r, b: q.contributions_over_time(r, run_id, "channel", b, **span)),
        ("totals", lambda r, b: q.totals(r, run_id, "pillar", b, **span)),
        ("kpis", lambda r, b: q.kpis(r, run_id, b, **span)),
        ("decomposition", lambda r, b: q.decomposition(r, run_id, "channel", b, **span)),
        ("driver_performance", lambda r, b: q.driver_performance(r, run_id, "channel", b, prior_year=True, **span)),
        ("contribution_intervals", lambda r, b: q.contribution_intervals(r, run_id, "variable", b)),
        ("response_draws", lambda r, b: q.response_draws(r, run_id, b)),
        ("run_contributions", lambda r, b: q.run_contributions(r, run_id, b)),
        ("run_rows", lambda r, b: q.run_rows(r, run_id, b)),
        ("run_config", lambda r, b: q.run_config(r, run_id, b)),
        ("list_scenarios", lambda r, b: sc.list_scenarios(r, run_id, b)),
        ("load_scenario", lambda r, b: sc.load_scenario(r, sid, b)),
        ("save_scenario", lambda r, b: sc.save_scenario(path, r, run_id=run_id, name="B", kind="forecast",
                                                       payload={}, brands=b)),
        ("registry", lambda r, b: rg.registry(r, b)),
        ("history", lambda r, b: rg.history(r, run_id, b)),
        ("set_status", lambda r, b: rg.set_status(path, r, run_id, "archived", brands=b)),
        ("cv_for_runs", lambda r, b: cv_for_runs(r, [run_id], b)),
        ("cpit_table", lambda r, b: cd.cpit_table(r, [run_id], b)),
        ("contributions_table", lambda r, b: cd.contributions_table(r, [run_id], "channel", b)),
        ("review_table", lambda r, b: cd.review_table(r, [run_id], b)),
        ("config_diff", lambda r, b: cd.config_diff(r, [run_id, SECOND], b)),
        ("curve_variables", lambda r, b: cd.curve_variables(r, [run_id], b)),
        ("response_curves", lambda r, b: cd.response_curves(r, [run_id], "CTV_Brand", b)),
        ("engine_for", lambda r, b: pdx.engine_for(r, run_id, b)),
        ("build_report", lambda r, b: build_report(r, [run_id], b)),
    ]


def has_data(value, run_id: str) -> bool:
    """Whether a result holds anything of the run (rows, a config, a scenario, an engine, a report)."""
    if value is None:
        return False
    if isinstance(value, pd.DataFrame):
        if value.empty:
            return False
        if "check" in value.columns:  # review table: a verdict for the run, not "no data"
            return any("no data" not in str(v).lower() for v in value.drop(columns="check").stack())
        return True
    if isinstance(value, tuple):
        return any(has_data(v, run_id) for v in value)
    if isinstance(value, dict):  # (the dates asked for are echoed back: not data of the run)
        return any(has_data(v, run_id) for k, v in value.items() if k not in ECHOED)
    if isinstance(value, (int, float)):
        return value == value and value != 0
    if isinstance(value, str):
        return run_id in value
    if isinstance(value, list):
        return bool(value)
    return True  # an engine, a saved scenario id, ...


def test_a_session_of_the_brand_gets_every_kind_of_data(world):
    path, reader, run_id, sid = world
    for name, fn in calls(path, run_id, sid):
        if name in WRITES:
            continue  # (they change the store; a session of the brand may, see test_scenarios / test_registry)
        assert has_data(fn(reader, [BRAND]), run_id), name


@pytest.mark.parametrize("brands", OTHER_SESSIONS, ids=lambda b: repr(b))
def test_a_session_of_other_brands_reaches_nothing_of_it(world, brands):
    path, reader, run_id, sid = world
    before = path.read_bytes()
    for name, fn in calls(path, run_id, sid):
        if name in WRITES:
            with pytest.raises(REFUSED, match="no run"):
                fn(reader, brands)
            continue
        try:
            value = fn(reader, brands)
        except REFUSED:
            continue
        assert not has_data(value, run_id), f"{name} leaked {brands!r}: {value!r}"[:400]
    assert path.read_bytes() == before  # no scenario saved, no status changed
    assert rg.reference_run(reader, BRAND) == run_id
