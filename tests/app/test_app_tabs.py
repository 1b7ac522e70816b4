"""A session pays only for the tabs it opens: building the page starts Measure alone; Forecast, Maximize,
Jobs and Compare start their work (response engine, jobs folder refresh, comparison) when first shown."""

from __future__ import annotations


def test_only_the_shown_tabs_do_work(demo_store, tmp_path, monkeypatch):
    from artemis_panel import plan_data as pdx
    from artemis_panel.app import TABS, ArtemisApp

    monkeypatch.setenv("ARTEMIS_DATA_DIR", str(tmp_path))
    built = []
    real = pdx.engine_for
    monkeypatch.setattr(pdx, "engine_for", lambda *a, **k: built.append(a[1]) or real(*a, **k))
    app = ArtemisApp(demo_store)
    assert app.measure.renders == 1  # the tab a session opens on is drawn
    assert built == [] and app.forecast.engine is None and app.maximize.engine is None
    assert app.jobs._callback is None and app.compare.renders == 0
    app.tabs.active = TABS.index("Maximize")
    assert built == [app.state.run_id] and app.maximize.engine is not None and app.forecast.engine is None
    app.tabs.active = TABS.index("Jobs")
    assert app.jobs._callback is False  # (outside a server the list is refreshed by hand)
    app.tabs.active = TABS.index("Forecast")
    assert app.forecast.engine is not None
