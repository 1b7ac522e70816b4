"""AppState: one per browser session, the filters every tab reads (brand, run, weeks, audiences, group-by,
channels, the groups selected in the charts)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Callable, Hashable

import pandas as pd
import param

from store import queries as q
from store.reader import StoreReader

GROUP_LABELS = {"Channel": "channel", "Channel group": "channel_group", "Pillar": "pillar",
                "Message type": "message_type", "Audience": "audience", "Variable": "variable"}
PERIODS = ("All weeks", "Last 52 weeks", "Last 26 weeks", "Last 13 weeks", "Custom")


def run_label(row: pd.Series) -> str:
    """How a run is named in the run picker: its id, variant and status (a star for the brand's promoted run)."""
    status = row.get("status") or "unknown"
    star = "★ " if row.get("registry_status") == "promoted" else ""
    return f"{star}{row['run_id']} · {row.get('variant') or 'national'} · {status}"


def period_range(period: str, first: date, last: date) -> tuple[date, date]:
    """The weeks a preset period covers, within the run's ``first`` .. ``last`` week."""
    weeks = {"Last 52 weeks": 52, "Last 26 weeks": 26, "Last 13 weeks": 13}.get(period)
    if weeks is None:
        return first, last
    return max(first, last - timedelta(weeks=weeks - 1)), last


class AppState(param.Parameterized):
    """The per-session filters. Widgets are made from these params (two-way), views watch them."""

    # check_on_set: a value that is not one of the options (a crafted WebSocket message) is refused, not kept
    brand = param.Selector(default=None, objects=[], check_on_set=True, allow_None=True,
                           doc="The brand whose runs are shown.")
    run_id = param.Selector(default=None, objects=[], check_on_set=True, allow_None=True, label="Run",
                            doc="The model run measured.")
    period = param.Selector(default="Last 52 weeks", objects=list(PERIODS),
                            doc="Preset week ranges ending at the run's last week; 'Custom' keeps the dates below.")
    date_range = param.CalendarDateRange(default=None, label="Weeks",
                                         doc="First and last week shown (inclusive).")
    audiences = param.ListSelector(default=[], objects=[], doc="Audiences kept; none selected means all.")
    group_by = param.Selector(default="channel", objects=GROUP_LABELS, label="Group by",
                              doc="How media contributions are grouped in every chart.")
    channels = param.ListSelector(default=[], objects=[], doc="Media channels kept; none selected means all.")
    selection = param.List(default=[], item_type=str,
                           doc="Groups selected in a chart (tap or box select); they filter the other charts and the table.")
    prior_year = param.Boolean(default=False, label="Prior year",
                               doc="Show the same weeks a year earlier in the driver performance chart.")
    run_bounds = param.Tuple(default=(None, None), length=2, precedence=-1,
                             doc="The run's first and last week (set when the run changes).")
    handoff = param.Dict(default=None, allow_None=True, precedence=-1,
                         doc="A plan one tab sends another: {'start', 'plan', 'name'} (Maximize -> Forecast).")
    brands = param.List(default=None, allow_None=True, precedence=-1, constant=True,
                        doc="The brands this session may see (None: all). Every query is restricted to them.")

    def __init__(self, reader: StoreReader, **params: Any):
        super().__init__(**params)
        self.reader = reader
        self._runs = pd.DataFrame()
        self.load_runs()

    # ------------------------------------------------------------------ runs
    def load_runs(self) -> None:
        """Read the run list (for the allowed brands) and pick the newest run of the first brand."""
        self._runs = self._read("list_runs", lambda: q.list_runs(self.reader, self.brands))
        brands = sorted(self._runs.brand.unique().tolist()) if not self._runs.empty else []
        self.param.brand.objects = brands
        brand = self.brand if self.brand in brands else (brands[0] if brands else None)
        if brand == self.brand:
            self._brand_changed()
        else:
            self.brand = brand

    def _read(self, what: Hashable, compute: Callable[[], Any]) -> Any:
        """A value read from the store for this session's brands, shared by every session that asks the same of the
        same store file (read once per file: a page is built about 15 ms sooner). Not to be changed."""
        brands = tuple(self.brands) if self.brands is not None else None
        return self.reader.memo(("app_state", what, brands), compute)

    @property
    def all_runs(self) -> pd.DataFrame:
        """Every run of the brands the session may see, newest first."""
        return self._runs

    @property
    def runs(self) -> pd.DataFrame:
        """The runs of the current brand, newest first."""
        if self._runs.empty:
            return self._runs
        return self._runs[self._runs.brand == self.brand]

    @param.depends("brand", watch=True)
    def _brand_changed(self) -> None:
        runs = self.runs
        labels = {run_label(row): row.run_id for _, row in runs.iterrows()}
        self.param.run_id.objects = labels
        ids = list(labels.values())
        promoted = runs.run_id[runs.registry_status == "promoted"].tolist() if "registry_status" in runs else []
        default = promoted[0] if promoted else (ids[0] if ids else None)  # the brand's reference run
        run = self.run_id if self.run_id in ids else default
        if run == self.run_id:
            self._run_changed()
        else:
            self.run_id = run

    @param.depends("run_id", watch=True)
    def _run_changed(self) -> None:
        run_id = self.run_id
        opts = (self._read(("filter_options", run_id), lambda: q.filter_options(self.reader, run_id, self.brands))
                if run_id else {"start": None, "end": None, "audiences": [], "channels": []})
        first, last = opts["start"], opts["end"]
        # The date picker checks its value against its bounds at every step: widen the bounds to hold the
        # old and the new run's weeks, set the new dates, then narrow them (another brand's run may not
        # overlap the old dates at all).
        old = self.param.date_range.bounds
        if old and first:
            self.param.date_range.bounds = (min(old[0], first), max(old[1], last))
        with param.parameterized.batch_call_watchers(self):
            self.param.audiences.objects = list(opts["audiences"])  # (copies: the read is shared)
            self.param.channels.objects = list(opts["channels"])
            self.audiences = [a for a in self.audiences if a in opts["audiences"]]
            self.channels = [c for c in self.channels if c in opts["channels"]]
            self.run_bounds = (first, last)
            self.selection = []
            self.date_range = period_range(self.period, first, last) if first else None
        self.param.date_range.bounds = (first, last) if first else None

    @param.depends("period", watch=True)
    def _period_changed(self) -> None:
        first, last = self.run_bounds
        if self.period != "Custom" and first is not None:
            self.date_range = period_range(self.period, first, last)

    @param.depends("date_range", watch=True)
    def _dates_changed(self) -> None:
        first, last = self.run_bounds
        if (self.period != "Custom" and first is not None and self.date_range is not None
                and tuple(self.date_range) != period_range(self.period, first, last)):
            self.period = "Custom"  # dates edited by hand leave the preset

    @param.depends("group_by", watch=True)
    def _group_changed(self) -> None:
        self.selection = []  # the selected groups were of the other grouping

    # ------------------------------------------------------------------ what the queries get
    @property
    def group_label(self) -> str:
        return next((k for k, v in GROUP_LABELS.items() if v == self.group_by), self.group_by)

    def filters(self) -> dict[str, Any]:
        """Keyword arguments of the store queries: brands, start, end, audiences, channels."""
        start, end = self.date_range or (None, None)
        return {"brands": self.brands, "start": start, "end": end,
                "audiences": list(self.audiences) or None, "channels": list(self.channels) or None}

    def describe(self) -> str:
        """One line saying what is shown, for titles and file names."""
        start, end = self.date_range or (None, None)
        parts = [self.brand or "no brand", self.run_id or "no run"]
        if start:
            parts.append(f"{start:%Y-%m-%d} – {end:%Y-%m-%d}")
        if self.audiences:
            parts.append("audiences " + ", ".join(self.audiences))
        if self.channels:
            parts.append("channels " + ", ".join(self.channels))
        return " · ".join(parts)
