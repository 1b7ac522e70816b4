"""Compare without a browser: two runs of the demo brand side by side, checked against the store's own rows;
the registry card promotes a run and every new session opens it."""

from __future__ import annotations

import re
import shutil

import duckdb
import pytest

from artemis_panel import compare_data as cd
from artemis_panel.state import AppState
from artemis_panel.views.compare import CompareView
from store import registry as rg
from store.reader import StoreReader
from store.sync import sync
from tests.demo_runs import bundled_run, copy_demo_run, write_cv

OTHER = "2026-01-01T00-00-00Z-aaaaaaa"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The bundled demo run and an older copy fitted with another config (draws 800)."""
    src = bundled_run()
    root = tmp_path_factory.mktemp("compare")
    runs = root / "runs"
    shutil.copytree(src, runs / src.name)
    copy_demo_run(runs, OTHER, created_at="2026-01-01T00:00:00Z", draws=800)
    path = root / "store.duckdb"
    sync(runs, path)
    return path, src.name


@pytest.fixture
def store(two_runs, tmp_path):
    path = tmp_path / "store.duckdb"
    shutil.copyfile(two_runs[0], path)
    reader = StoreReader(path)
    yield path, reader, [two_runs[1], OTHER]
    reader.close()


def test_selection_needs_two_to_four_runs():
    with pytest.raises(ValueError, match="at least 2"):
        cd.check_selection(["a", "a"])
    with pytest.raises(ValueError, match="at most 4"):
        cd.check_selection(list("abcde"))


def test_metrics_cpit_and_contributions_match_the_store(store):
    path, reader, ids = store
    state = AppState(reader)
    table = cd.metrics_table(state._runs, ids).set_index("metric")
    with duckdb.connect(str(path), read_only=True) as con:
        mape, rhat = con.execute("SELECT train_mape, max_rhat FROM runs WHERE run_id = ?", [ids[0]]).fetchone()
        spend, contribution = con.execute(
            "SELECT sum(spend), sum(contribution) FROM summaries WHERE run_id = ? AND variable = 'CTV_Brand'",
            [ids[1]]).fetchone()
        media = dict(con.execute("SELECT channel, sum(contribution) FROM contributions WHERE run_id = ? AND kind = "
                                 "'media' GROUP BY 1", [ids[0]]).fetchall())
    assert table.loc["Train MAPE %", cd.short(ids[0])] == f"{mape:,.2f}"
    assert table.loc["Max R-hat", cd.short(ids[0])] == f"{rhat:,.3f}"
    cpit = cd.cpit_table(reader, ids)
    row = cpit[(cpit.run_id == ids[1]) & (cpit.variable == "CTV_Brand")].iloc[0]
    assert row.cpit == pytest.approx(spend / contribution) and row.roi == pytest.approx(contribution / spend)
    assert row.cpit_lo <= row.cpit <= row.cpit_hi
    contrib = cd.contributions_table(reader, ids, "channel")
    mine = contrib[contrib.run_id == ids[0]].set_index("group").contribution
    assert mine.to_dict() == pytest.approx(media)


def test_cross_validation_scores_and_mlflow_links_show_for_each_run(tmp_path):
    """A CV of the demo model on its dataset scores both runs (they differ in sampler draws only); a run logged
    to an MLflow server links to it, one logged to a database says how to open it."""
    import json

    runs = tmp_path / "runs"
    shutil.copytree(bundled_run(), runs / bundled_run().name)
    copy_demo_run(runs, OTHER, created_at="2026-01-01T00:00:00Z", draws=800,
                  mlflow={"tracking_uri": "http://mlflow.internal:5000/", "run_id": "f00d"})
    manifest = json.loads((bundled_run() / "manifest.json").read_text())
    import yaml

    config = yaml.safe_load((bundled_run() / "config.yaml").read_text())
    cv = write_cv(runs, "cv-demo", config=config, fingerprint=manifest["dataset_fingerprint"], mape=(2.0, 4.0, 9.0),
                  mlflow={"tracking_uri": "sqlite:///tmp/mlflow.db", "run_id": "beef"})
    path = tmp_path / "store.duckdb"
    sync(runs, path)
    reader = StoreReader(path)
    try:
        state = AppState(reader)
        ids = [bundled_run().name, OTHER]
        view = CompareView(state=state, store_path=path)
        view.show()
        table = view._metrics.value.set_index("metric")
        mape = [f["test"]["mape"] for f in cv["fold_metrics"]]
        mean = sum(mape) / 3
        sd = (sum((m - mean) ** 2 for m in mape) / 2) ** 0.5
        for rid in ids:
            assert table.loc["CV test MAPE %", cd.short(rid)] == f"{mean:,.2f} ± {sd:,.2f}"
            assert table.loc["CV id", cd.short(rid)] == "cv-demo"
            assert table.loc["CV folds × test weeks", cd.short(rid)] == "3 × 8"
        assert table.loc["MLflow run", cd.short(OTHER)] == "f00d"
        links = view._links.object
        assert 'href="http://mlflow.internal:5000/#/runs/f00d"' in links
        assert "mlflow ui --backend-store-uri sqlite:///tmp/mlflow.db" in links  # the CV's parent run
        view._reg_run.value = OTHER
        assert 'href="http://mlflow.internal:5000/#/runs/f00d"' in view._reg_info.object
        # without a CV of their model the rows are not there
        assert "CV id" not in cd.metrics_table(state.all_runs, ids, cd.cv_table(reader, ids, ["Luna Tacos"])).metric.tolist()
    finally:
        reader.close()


def test_config_diff_lists_only_what_differs(store):
    _, reader, ids = store
    diff = cd.config_diff(reader, ids)
    assert diff.field.tolist() == ["sampler.draws"]
    assert diff.iloc[0][cd.short(ids[1])] == "800"


def test_review_has_the_six_checks_for_each_run(store):
    _, reader, ids = store
    review = cd.review_table(reader, ids)
    assert len(review) == 6 and set(review.columns) == {"check", *(cd.short(i) for i in ids)}
    for col in review.columns[1:]:
        assert all(str(v).split(" ", 1)[0] in ("PASS", "REVIEW", "FAIL") for v in review[col])
    # the two runs are the same fit: the same verdicts
    assert review[cd.short(ids[0])].tolist() == review[cd.short(ids[1])].tolist()


def test_the_view_compares_and_promotes_the_reference_run(store):
    path, reader, ids = store
    state = AppState(reader)
    assert state.run_id == ids[0]
    view = CompareView(state=state, store_path=path)
    view.show()  # (nothing is computed until the tab is shown)
    assert list(view._runs.value) == ids  # the current run and the next newest of its brand
    assert view.renders >= 1 and 'data-runs="2"' in view._status.object and 'data-checks="6"' in view._status.object
    view._reg_run.value = ids[1]
    view._reg_status.value = "promoted"
    view._reg_notes.value = "reference for Q1"
    view.save_status()
    assert rg.reference_run(reader, state.brand) == ids[1]
    assert AppState(reader).run_id == ids[1]  # a new session opens the promoted run (Measure, Forecast, Maximize)
    assert view._history.value.status.tolist() == ["promoted"]
    assert view._reg_notes.value == "reference for Q1"


def test_the_report_holds_the_comparison_and_needs_nothing_from_the_network(store, tmp_path, capsys):
    from artemis_panel.cli import main
    from artemis_panel.report import build_report

    path, reader, ids = store
    text = build_report(reader, ids)
    for rid in ids:
        assert rid in text and cd.short(rid) in text
    review = cd.review_table(reader, ids)
    for check in review.check:
        assert check in text
    assert "sampler.draws" in text and "800" in text  # the config diff
    assert "Bokeh.embed" in text  # BokehJS inlined: no script or stylesheet is fetched
    assert re.search(r"<script[^>]*\bsrc=", text) is None and re.search(r"<link[^>]*\bhref=", text) is None
    single = build_report(reader, ids[:1])
    assert ids[1] not in single and "Config differences" not in single
    with pytest.raises(ValueError, match="at most 4"):
        build_report(reader, [*ids, "a", "b", "c"])
    out = tmp_path / "report.html"
    assert main(["report", *ids, "--store", str(path), "--out", str(out)]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert main(["report", "no-such-run", "--store", str(path), "--out", str(tmp_path / "x.html")]) == 2
    assert "no run 'no-such-run'" in capsys.readouterr().err and not (tmp_path / "x.html").exists()


def test_response_curves_rise_with_the_budget_and_mark_last_years_spend(store):
    path, reader, ids = store
    curves = cd.response_curves(reader, ids, "CTV_Brand")
    assert set(curves.run_id) == set(ids)
    for rid in ids:
        c = curves[curves.run_id == rid]
        assert (c["mean"].diff().dropna() >= -1e-9).all()  # more budget never buys fewer transactions
        assert ((c.lo <= c["mean"]) & (c["mean"] <= c.hi)).all()
    a, b = (curves[curves.run_id == rid]["mean"].to_numpy() for rid in ids)
    assert a == pytest.approx(b)  # the same fit twice: the same curve
    with duckdb.connect(str(path), read_only=True) as con:
        last = con.execute("SELECT max(date) FROM contributions WHERE run_id = ?", [ids[0]]).fetchone()[0]
        spend = con.execute(
            "SELECT sum(spend) FROM contributions WHERE run_id = ? AND variable = 'CTV_Brand' "
            "AND date > ?::DATE - INTERVAL 52 WEEK AND date <= ?::DATE - INTERVAL 39 WEEK",
            [ids[0], last, last]).fetchone()[0]
    assert curves.current.iloc[0] == pytest.approx(spend, rel=1e-9)
    assert curves.budget.max() == pytest.approx(2 * spend)
    assert cd.response_curves(reader, ids, "No_Such_Variable").empty
