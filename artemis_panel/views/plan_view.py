"""What the Forecast and Maximize tabs share: the session's state, the store file, and the run's response
engine, loaded off the event loop when the tab is first shown, and again whenever the run changes after
that."""

from __future__ import annotations

import panel as pn
import param

from artemis_panel import plan_data as pdx
from artemis_panel.state import AppState
from artemis_panel.views.background import Background
from jobs.response_engine import ResponseEngine


class PlanView(pn.viewable.Viewer):
    state = param.ClassSelector(class_=AppState, doc="The session's filters (the run is read from it).")
    store_path = param.Parameter(doc="The store file (scenarios are saved into it).")
    renders = param.Integer(default=0, doc="How many results were drawn (tests wait on it).")

    def _init_engine(self, layout: pn.viewable.Viewable, name: str) -> None:
        self.engine: ResponseEngine | None = None
        self._layout = layout
        self._bg = Background(layout, name)
        self._opened: str | None = None
        self._shown = False  # a session that never opens the tab never builds an engine
        self.state.param.watch(lambda _e: self.open_run() if self._shown else None, ["run_id"])

    def __panel__(self):
        return self._layout

    def show(self) -> None:
        """The tab is shown: load the run's engine (the first time, or when the run changed meanwhile)."""
        self._shown = True
        if self._opened != self.state.run_id:
            self.open_run()

    def open_run(self) -> None:
        """Build (or fetch) the run's engine off the event loop, then :meth:`_engine_ready`; a run without
        response draws (or none) clears the tab, with a notification saying why."""
        s = self.state
        self._opened = s.run_id
        if not s.run_id:
            self.engine = None
            self._engine_gone()
            return
        reader, run_id, brands = s.reader, s.run_id, s.brands

        def failed(e: Exception) -> None:
            self.engine = None
            self._engine_gone()
            self._bg.failed(e)

        self._bg.run(lambda: pdx.engine_for(reader, run_id, brands), self._engine_ready, failed)

    def _engine_ready(self, engine: ResponseEngine) -> None:
        raise NotImplementedError

    def _engine_gone(self) -> None:
        raise NotImplementedError
