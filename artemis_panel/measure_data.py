"""The Measure tab's data: the store questions of one filter state, and what a chart selection leaves.

Pure functions on small frames (a few rows per group); nothing here draws. The store aggregates;
this module only labels, merges and filters those results, so the views stay thin and the logic is
testable without a browser.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Callable, Hashable, Sequence

import numpy as np
import pandas as pd

from artemis_panel import formatting as fmt
from store import queries as q
from store.reader import StoreReader

TABLE_COLUMNS = {  # table column -> its heading (also the CSV header)
    "group": "Group",
    "contribution": "Incremental transactions",
    "lo": "94% low",
    "hi": "94% high",
    "share": "Share of transactions",
    "spend": "Spend",
    "impressions": "Impressions",
    "efficiency": "Spend per incremental transaction",
    "effectiveness": "Incremental transactions per 1k impressions",
    "contribution_prior": "Incremental transactions PY",
    "change_pct": "Change vs PY (%)",
}


@dataclass
class MeasureData:
    """Everything the Measure tab shows for one filter state."""

    group_by: str
    kpis: dict
    over_time: pd.DataFrame  # date, group, kind_group, contribution
    waterfall: pd.DataFrame  # step, value, start, end, kind
    intervals: pd.DataFrame  # group, contribution, lo, hi, spend, approximate
    drivers: pd.DataFrame  # group, spend, impressions, contribution, efficiency, effectiveness
    drivers_prior: pd.DataFrame  # the same for the same weeks a year earlier
    selection: list[str] = field(default_factory=list)
    # what has been worked out from this data, by key (see ``kept``); not a field a copy takes along
    _kept: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def empty_of(cls, group_by: str) -> "MeasureData":
        """No rows at all (no run to measure), with the columns the charts expect."""
        def frame(cols: str) -> pd.DataFrame:
            return pd.DataFrame({c: pd.Series(dtype=object if c in ("group", "step", "kind", "kind_group", "date")
                                              else float) for c in cols.split()})
        drivers = frame("group spend impressions contribution efficiency effectiveness")
        return cls(group_by=group_by, kpis={}, over_time=frame("date group kind_group contribution"),
                   waterfall=frame("step value start end kind"),
                   intervals=frame("group contribution lo hi spend approximate"),
                   drivers=drivers, drivers_prior=drivers.copy())

    @cached_property
    def groups(self) -> list[str]:
        """The media groups, largest contribution first (worked out once: the views ask for it per group)."""
        return self.drivers.group.tolist() if not self.drivers.empty else self.intervals.group.tolist()

    @cached_property
    def table_frame(self) -> pd.DataFrame:
        """:func:`table` of this data, worked out once (answers are shared by the sessions that ask the same)."""
        return table(self)

    @property
    def empty(self) -> bool:
        return self.over_time.empty

    def kept(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()``, worked out once per ``key`` for this data: an answer is shared by every session that asks
        the same, and so is what is kept with it (the charts' drawings, say). Any thread may ask; two asking at once
        may both compute, and one result is kept. What it gives is shared: never change it in place."""
        try:
            return self._kept[key]
        except KeyError:
            return self._kept.setdefault(key, compute())


ANSWERS_KEPT = 64  # Measure answers kept per store file (each a few hundred kB at most: 94 groups × 156 weeks)


class _Answers:
    """The latest answers to Measure questions, most recently used kept (a bounded LRU; thread-safe)."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[Hashable, MeasureData] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], MeasureData]) -> MeasureData:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()  # (outside the lock: it queries; two sessions asking at once both compute)
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


def _frozen(filters: dict[str, Any]) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, (list, tuple, set)) else v) for k, v in filters.items()))


def load_measure(reader: StoreReader, run_id: str, group_by: str, filters: dict[str, Any]) -> MeasureData:
    """Every Measure question for this run, grouping and filters (see ``AppState.filters``), answered by the store
    or, when asked before of this store file (by any session: the filters include the brands a user may see),
    from the answers kept. A store file never changes once published, so an answer holds until a sync swaps in
    another file; the answers are kept per file and go with it."""
    answers = reader.memo("measure_answers", lambda: _Answers(ANSWERS_KEPT))
    return answers.get((run_id, group_by, _frozen(filters)), lambda: _ask_store(reader, run_id, group_by, filters))


def _ask_store(reader: StoreReader, run_id: str, group_by: str, filters: dict[str, Any]) -> MeasureData:
    kw = dict(filters)
    brands = kw.pop("brands", None)
    return MeasureData(
        group_by=group_by,
        kpis=q.kpis(reader, run_id, brands, **kw),
        over_time=q.contributions_over_time(reader, run_id, group_by, brands, **kw),
        waterfall=q.decomposition(reader, run_id, group_by, brands, **kw),
        intervals=q.contribution_intervals(reader, run_id, group_by, brands, **kw),
        drivers=q.driver_performance(reader, run_id, group_by, brands, **kw),
        drivers_prior=q.driver_performance(reader, run_id, group_by, brands, prior_year=True, **kw),
    )


def restack(waterfall: pd.DataFrame) -> pd.DataFrame:
    """Recompute a waterfall's running ``start`` / ``end`` and its ``Total`` after steps were dropped."""
    steps = waterfall[waterfall.kind != "total"]
    if steps.empty:
        return waterfall.iloc[0:0].copy()
    return stack_steps(steps.step.tolist(), steps.value.fillna(0.0).to_numpy(dtype=float), steps.kind.tolist())


def stack_steps(names: list[str], values: np.ndarray, kinds: list[str]) -> pd.DataFrame:
    """Steps with their running ``start`` / ``end``, then the ``Total`` (from 0 to the sum)."""
    ends = np.cumsum(values)
    total = float(ends[-1]) if len(ends) else 0.0
    return pd.DataFrame({"step": [*names, "Total"], "value": [*values.tolist(), total],
                         "start": [*(ends - values).tolist(), 0.0], "end": [*ends.tolist(), total],
                         "kind": [*kinds, "total"]})


def select(data: MeasureData, groups: Sequence[str]) -> MeasureData:
    """The data with only these media groups (baseline, controls and holidays stay): what the other
    charts and the table show once groups are selected in one chart. No groups: everything."""
    groups = [g for g in groups if g in set(data.groups) | set(data.intervals.group)]
    if not groups:
        return data if not data.selection else replace(data, selection=[])
    keep = set(groups)

    def media(df: pd.DataFrame, col: str = "group") -> pd.DataFrame:
        return df[df[col].isin(keep)].reset_index(drop=True)

    ot = data.over_time
    wf = data.waterfall
    return replace(
        data,
        over_time=ot[(ot.kind_group != "media") | ot.group.isin(keep)].reset_index(drop=True),
        waterfall=restack(wf[(wf.kind.isin(["baseline", "controls", "holidays"])) | wf.step.isin(keep)]),
        intervals=media(data.intervals),
        drivers=media(data.drivers),
        drivers_prior=media(data.drivers_prior),
        selection=list(groups),
    )


def table(data: MeasureData) -> pd.DataFrame:
    """One row per media group: contribution with its 94% interval, share, spend, impressions,
    efficiency, effectiveness, and the prior year's contribution with the change. Raw numbers
    (formatting is the table widget's job); largest contribution first."""
    d = data.drivers.set_index("group")
    idx = list(d.index) + [g for g in data.intervals.group if g not in d.index]
    out = pd.DataFrame(index=pd.Index(idx, name="group"))
    i = data.intervals.set_index("group")
    out["contribution"] = d.contribution.reindex(idx).fillna(i.contribution.reindex(idx))
    out["lo"] = i.lo.reindex(idx)
    out["hi"] = i.hi.reindex(idx)
    transactions = (data.kpis.get("transactions") or {}).get("value")  # actual transactions of the selection
    out["share"] = out.contribution / transactions if transactions else np.nan
    for c in ("spend", "impressions", "efficiency", "effectiveness"):
        out[c] = d[c].reindex(idx)
    prior = data.drivers_prior.set_index("group").contribution.reindex(idx)
    out["contribution_prior"] = prior
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = (out.contribution - prior) / prior.abs() * 100
    out["change_pct"] = pct.where(prior.notna() & (prior != 0))
    return out.reset_index()[list(TABLE_COLUMNS)]


def table_csv(data: MeasureData) -> str:
    """The table as CSV with readable headings (numbers unformatted, for spreadsheets)."""
    return data.table_frame.rename(columns=TABLE_COLUMNS).to_csv(index=False)


KPI_CARDS = (  # (kpi name, title, formatter, whether a rise is good)
    ("transactions", "Total transactions", fmt.number, True),
    ("incremental", "Incremental transactions from media", fmt.number, True),
    ("media_share", "Media share", fmt.percent, True),
    ("spend", "Media spend", fmt.money, None),
    ("cost_per_incremental", "Cost per incremental transaction", fmt.money, False),
)


def kpi_cards(kpis: dict) -> list[dict[str, Any]]:
    """The KPI cards: title, value, change vs prior year (text), and whether that change is good news
    (True / False; None where it is neither, or there is no prior year)."""
    cards = []
    for name, title, f, rise_good in KPI_CARDS:
        k = kpis[name]
        pct = k["change_pct"]
        good = None if pct is None or rise_good is None or pct == 0 else (pct > 0) == rise_good
        cards.append({"name": name, "title": title, "value": f(k["value"]), "change": fmt.change(pct),
                      "good": good, "prior": f(k["prior"])})
    return cards
