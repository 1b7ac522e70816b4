"""The Artemis app: a template with the session's filters in the sidebar and the five tabs."""

from __future__ import annotations

import os
from pathlib import Path

import holoviews as hv
import panel as pn
import param

from artemis_panel.branding import logo_uri, stylesheet
from artemis_panel.startup import ensure_store
from artemis_panel.state import AppState
from artemis_panel.views.compare import CompareView
from artemis_panel.views.forecast import ForecastView
from artemis_panel.views.jobs import JobsView
from artemis_panel.views.maximize import MaximizeView
from artemis_panel.views.measure import MeasureView
from jobs.paths import default_cv_root
from store.paths import default_runs_root
from store.reader import shared_reader

TABS = ("Measure", "Forecast", "Maximize", "Jobs", "Compare")

pn.extension("tabulator", notifications=True, raw_css=[stylesheet()],
             loading_indicator=True)
hv.extension("bokeh", logo=False)


class ArtemisApp(pn.viewable.Viewer):
    """One browser session: its AppState, the sidebar widgets bound to it, and the tabs (only the
    visible one is rendered)."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, store_path: str | Path | None = None, brands: list[str] | None = None, **params):
        path = ensure_store(store_path or os.environ.get("ARTEMIS_STORE") or None)
        params.setdefault("state", AppState(shared_reader(path), brands=brands))
        super().__init__(**params)
        self.store_path = path
        self.measure = MeasureView(state=self.state)
        self.forecast = ForecastView(state=self.state, store_path=path)
        self.maximize = MaximizeView(state=self.state, store_path=path)
        self.jobs = JobsView(state=self.state, store_path=path, runs_root=default_runs_root(),
                             cv_root=default_cv_root())
        self.compare = CompareView(state=self.state, store_path=path)
        tabs = [("Measure", self.measure), ("Forecast", self.forecast), ("Maximize", self.maximize),
                ("Jobs", self.jobs), ("Compare", self.compare)]
        self.tabs = pn.Tabs(*tabs, dynamic=True, sizing_mode="stretch_width", css_classes=["main-tabs"])
        self.state.param.watch(self._handoff, ["handoff"])

    def _handoff(self, event) -> None:
        """A plan sent to Forecast (from Maximize): show that tab."""
        if event.new:
            self.tabs.active = TABS.index("Forecast")

    def sidebar(self) -> list:
        s = self.state
        W = pn.widgets
        date_picker = W.DateRangePicker.from_param(s.param.date_range, name="Weeks", css_classes=["f-weeks"])
        return [
            W.Select.from_param(s.param.brand, name="Brand", css_classes=["f-brand"]),
            W.Select.from_param(s.param.run_id, name="Run", css_classes=["f-run"]),
            W.Select.from_param(s.param.period, name="Period", css_classes=["f-period"]),
            date_picker,
            W.Select.from_param(s.param.group_by, name="Group by", css_classes=["f-group-by"]),
            W.MultiChoice.from_param(s.param.audiences, name="Audiences (none = all)", css_classes=["f-audiences"]),
            W.MultiChoice.from_param(s.param.channels, name="Channels (none = all)", css_classes=["f-channels"]),
            pn.pane.Markdown(f"<small>Store: `{self.store_path}`</small>", css_classes=["store-path"]),
        ]

    def template(self) -> pn.template.FastListTemplate:
        return pn.template.FastListTemplate(
            title="Artemis MMM", logo=logo_uri(), sidebar=self.sidebar(), main=[self.tabs],
            accent="#2f6fdf", header_background="#1b263b", sidebar_width=300, theme_toggle=False,
        )

    def __panel__(self):
        return pn.Column(pn.Row(*self.sidebar()), self.tabs)


def build_app(store_path: str | Path | None = None) -> pn.template.FastListTemplate:
    """The page of one session (``panel_serve.py`` calls it once per session)."""
    return ArtemisApp(store_path).template()
