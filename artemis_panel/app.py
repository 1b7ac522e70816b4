"""The Artemis app: a template with the session's filters in the sidebar and the five tabs."""

from __future__ import annotations

import asyncio
import html
import os
from pathlib import Path

import holoviews as hv
import panel as pn
import param

from artemis_panel import page_bundles
from artemis_panel.branding import logo_uri
from artemis_panel.session_access import current_access, visible_brands
from artemis_panel.spare_page import SparePage
from artemis_panel.startup import ensure_store
from artemis_panel.state import AppState
from artemis_panel.views.compare import CompareView
from artemis_panel.views.forecast import ForecastView
from artemis_panel.views.jobs import JobsView
from artemis_panel.views.maximize import MaximizeView
from artemis_panel.views.measure import MeasureView
from jobs.paths import default_cv_root
from store.access import Access
from store.paths import default_runs_root
from store.reader import shared_reader

TABS = ("Measure", "Forecast", "Maximize", "Jobs", "Compare")

# (No ``raw_css``: Panel copies it into every component's shadow root, about 100 of them a page. The panes whose HTML
# uses ``assets/artemis.css`` are given it as their own stylesheet; see :func:`artemis_panel.branding.stylesheet`.)
pn.extension("tabulator", notifications=True, loading_indicator=True)
hv.extension("bokeh", logo=False)
page_bundles.trim()  # (pages leave out the script bundles no page of the app uses)


class _LazyTabs(pn.Tabs):
    """Tabs that have ``build(index)`` put a tab's view in place before the newly active tab is drawn (so it is
    drawn once, with its view, not empty and then again filled)."""

    build = None

    def _update_active(self, *events):
        if self.build is not None:
            for event in events:
                if event.name == "active":
                    self.build(event.new)
        super()._update_active(*events)


class _Choice(pn.widgets.Select):
    """A sidebar filter applied as soon as it is picked. Panel holds a browser change back 50 ms by default to
    merge a burst of them (typing, dragging); a pick from a list is one change, so the wait only delayed
    every redraw."""

    _priority_changes = ["value"]


class _Choices(pn.widgets.MultiChoice):
    """A multiple-choice sidebar filter applied as soon as it is picked (see :class:`_Choice`)."""

    _priority_changes = ["value"]


class ArtemisApp(pn.viewable.Viewer):
    """One browser session: its AppState, the sidebar widgets bound to it, and the tabs (only the
    visible one is rendered). ``access`` (default: everything) is what the signed-in user may see and
    do; ``brands``, when given, overrides the brands it grants."""

    state = param.ClassSelector(class_=AppState)

    def __init__(self, store_path: str | Path | None = None, brands: list[str] | None = None,
                 access: Access | None = None, start_now: bool = True, **params):
        path = ensure_store(store_path or os.environ.get("ARTEMIS_STORE") or None)
        self.access = access if access is not None else Access.everything()
        if "state" not in params:
            reader = shared_reader(path)
            if brands is None:
                brands = visible_brands(self.access, reader)
            params["state"] = AppState(reader, brands=brands)
        super().__init__(**params)
        self.store_path = path
        # A tab's view is built when the tab is first shown, and starts its work (queries, a response engine,
        # the jobs list's refresh) then: a session pays only for the tabs it opens (building all five took
        # about 1 s of the server's time per page, most of it the other tabs' Bokeh figures).
        self._built: dict[str, pn.viewable.Viewer] = {}
        self._slots = {name: pn.Column(sizing_mode="stretch_width") for name in TABS}
        self.tabs = _LazyTabs(*self._slots.items(), dynamic=True, sizing_mode="stretch_width",
                              css_classes=["main-tabs"])
        self.tabs.build = lambda i: self.view(TABS[i])
        self.tabs.param.watch(lambda e: self.view(TABS[e.new]).show(), "active")
        self.view(TABS[self.tabs.active])
        if start_now:  # (a spare app, built ahead, is started by the session that takes it: see serve_page)
            self.start()
        self.state.param.watch(self._handoff, ["handoff"])

    def start(self) -> None:
        """The shown tab starts its work (its first question to the store)."""
        self.view(TABS[self.tabs.active]).show()

    def view(self, name: str) -> pn.viewable.Viewer:
        """A tab's view, built (and put in its tab) the first time it is asked for."""
        if name not in self._built:
            path, state = self.store_path, self.state
            if name == "Measure":
                v = MeasureView(state=state)
            elif name == "Forecast":
                v = ForecastView(state=state, store_path=path)
            elif name == "Maximize":
                v = MaximizeView(state=state, store_path=path)
            elif name == "Jobs":
                v = JobsView(state=state, store_path=path, runs_root=default_runs_root(), cv_root=default_cv_root(),
                             access=self.access)
            else:
                v = CompareView(state=state, store_path=path, access=self.access)
            self._built[name] = v
            self._slots[name].objects = [v]
        return self._built[name]

    measure = property(lambda self: self.view("Measure"))
    forecast = property(lambda self: self.view("Forecast"))
    maximize = property(lambda self: self.view("Maximize"))
    jobs = property(lambda self: self.view("Jobs"))
    compare = property(lambda self: self.view("Compare"))

    def _handoff(self, event) -> None:
        """A plan sent to Forecast (from Maximize): show that tab (its view takes the plan, even one built now)."""
        if event.new:
            self.tabs.active = TABS.index("Forecast")

    def sidebar(self) -> list:
        s = self.state
        W = pn.widgets
        fit = {"sizing_mode": "stretch_width"}  # (as wide as the sidebar, not a widget's default width)
        return [
            _Choice.from_param(s.param.brand, name="Brand", css_classes=["f-brand"], **fit),
            _Choice.from_param(s.param.run_id, name="Run", css_classes=["f-run"], **fit),
            _Choice.from_param(s.param.period, name="Period", css_classes=["f-period"], **fit),
            W.DateRangePicker.from_param(s.param.date_range, name="Weeks", css_classes=["f-weeks"], **fit),
            _Choice.from_param(s.param.group_by, name="Group by", css_classes=["f-group-by"], **fit),
            _Choices.from_param(s.param.audiences, name="Audiences (none = all)", css_classes=["f-audiences"], **fit),
            _Choices.from_param(s.param.channels, name="Channels (none = all)", css_classes=["f-channels"], **fit),
            pn.pane.Markdown(f"<small>Store: `{self.store_path}`</small>", css_classes=["store-path"], **fit),
        ]

    def user_badge(self) -> pn.pane.HTML | None:
        """Who is signed in, their role and a Log out link (only when someone is signed in)."""
        a = self.access
        if a.user is None:
            return None
        role = a.role or "no access"
        text = f"{html.escape(a.user)} · {role}"
        if not self.state.param.brand.objects:
            granted = "all" if a.brands is None else (", ".join(a.brands) or "none")
            text += f" · no data for your brands ({html.escape(granted)})"
        return pn.pane.HTML(f'<span class="user-line" style="color:#fff">{text} · <a class="logout-link" href="./logout" style="color:#fff">'
                            'Log out</a></span>',
                            css_classes=["user-badge"], margin=(12, 10))

    def template(self) -> pn.template.VanillaTemplate:
        """The page. Panel's plain template (native widgets, no design system): with the FAST one a visit took about
        0.26 s longer to draw (its web components, 410 kB of JavaScript, and a FAST stylesheet in every component's
        shadow root), measured in Chromium, 10 alternating visits each: 2.42 -> 2.16 s."""
        badge = self.user_badge()
        return _Template(
            title="Artemis MMM", logo=logo_uri(), sidebar=self.sidebar(), main=[self.tabs],
            header=[badge] if badge is not None else [],
            header_background="#1b263b", sidebar_width=300,
            # No header spinner: each tab shows its own loading indicator over the work it waits for, where the
            # header's flipped on and off on every round trip to the server, and each flip made the browser lay the
            # whole page out again (two more layouts per filter change).
            busy_indicator=None,
        )

    def __panel__(self):
        return pn.Column(pn.Row(*self.sidebar()), self.tabs)


def build_app(store_path: str | Path | None = None) -> pn.template.VanillaTemplate:
    """The page of one session (``panel_serve.py`` calls it once per session), restricted to what the
    signed-in user may see (everything without a login)."""
    return ArtemisApp(store_path, access=current_access()).template()


def _start_busy_cleanup() -> None:
    """Start Panel's process-wide clean-up of its busy counter here, on the server's event loop thread (a no-op once
    started). Panel 1.10 starts it on the first busy event; served with ``--num-threads`` that event comes on a
    worker thread, where the start hands itself to a next-tick callback, which Panel runs on a worker thread, which
    hands it on again, for as long as the process lives: one core kept busy from the first page on (measured: 5.2
    CPU-seconds in 5 idle seconds), slowing every session on the machine."""
    schedule = getattr(pn.state, "_schedule_busy_cleanup", None)  # (private: gone, the fault may be gone too)
    if schedule is not None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # (no loop running: not the server's thread)
            return
        schedule()


class _Template(pn.template.VanillaTemplate):
    """Panel's plain template, without the Lato web font it asks Google Fonts for: the page asks nothing of any
    server but ours (offline, behind a firewall or a proxy that blocks it, the request only failed, in the browser's
    console, and the page used the system's sans-serif, as it now does everywhere)."""

    _resources = {**pn.template.VanillaTemplate._resources, "font": {}}


# The next visitor's app, built ahead in idle time (see artemis_panel.spare_page; the set-up script builds the first).
SPARE_PAGES = SparePage(lambda access: ArtemisApp(access=access, start_now=False))


def serve_page(title: str = "Artemis MMM") -> pn.template.VanillaTemplate:
    """Build this session's page and put it in the session's document (``panel_serve.py``). The document works
    out its graph of models once, when the page is in, instead of once for each of the template's roots as it is
    added (15 of them): the server's time to build a page fell from about 0.8 to 0.35 s. The app itself comes
    ready-made when the spare one fits (:mod:`artemis_panel.spare_page`)."""
    doc = pn.state.curdoc
    if doc is None:  # (no document: a script)
        return build_app()
    access = current_access()
    store = ensure_store(os.environ.get("ARTEMIS_STORE") or None)  # (as ArtemisApp resolves it: the spare's key)
    app = SPARE_PAGES.take(access, store)
    if app is not None:
        app.start()  # (here, in this session: its first answer is drawn into this session's page)
    else:
        app = ArtemisApp(store, access=access)
    page = app.template()
    _start_busy_cleanup()
    with doc.models.freeze():
        page.server_doc(doc, title=title)
    # The next visitor's app is built once this one's browser has drawn the page, not while it draws (on a laptop the
    # browser and the server share the machine's cores). Onload callbacks may run on a worker thread: the refill is
    # handed to the event loop's.
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # (no loop: not served)
        return page
    pn.state.onload(lambda: loop.call_soon_threadsafe(SPARE_PAGES.refill_later, access))
    return page
