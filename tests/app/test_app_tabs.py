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


def test_a_served_page_is_whole_in_its_document(demo_store, tmp_path, monkeypatch):
    """``panel_serve.py``'s page, put in a session document with the model graph worked out once at the end:
    every model the page shows is the document's, and the first Measure draw is in it (what the browser pulls)."""
    from bokeh.document import Document
    from bokeh.models import ColumnDataSource
    from panel.io.state import set_curdoc

    from artemis_panel import app as app_module

    monkeypatch.setenv("ARTEMIS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ARTEMIS_STORE", str(demo_store))
    doc = Document()
    with set_curdoc(doc):
        app_module.serve_page(title="Artemis MMM")
    assert doc.title == "Artemis MMM" and len(doc.roots) > 5
    reachable = {m.id for root in doc.roots for m in root.references()}
    assert reachable == {m.id for m in doc.models}  # the graph is up to date: nothing missing, nothing stale
    sources = [m for m in doc.models if isinstance(m, ColumnDataSource) and "interval" in m.data]
    assert len(sources) == 1 and len(sources[0].data["group"]) > 0  # the bars, drawn with the demo run's groups
