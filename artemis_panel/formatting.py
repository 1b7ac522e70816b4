"""Figures as people read them: 1.2M, $340k, 12.5%, +3.1% — for cards, tooltips and table cells."""

from __future__ import annotations

import math

_UNITS = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value, digits: int = 1) -> str:
    """``1234567 -> '1.2M'``, ``5400 -> '5.4k'``, ``12.34 -> '12.3'``; None / NaN -> '–'."""
    if _missing(value):
        return "–"
    v = float(value)
    for size, unit in _UNITS:
        if abs(v) >= size:
            return f"{v / size:,.{digits}f}{unit}"
    if abs(v) >= 100 or v == int(v):
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def money(value, digits: int = 1) -> str:
    """``340000 -> '$340.0k'``, ``-12.5 -> '-$12.50'``; None / NaN -> '–'."""
    if _missing(value):
        return "–"
    v = float(value)
    sign = "-" if v < 0 else ""
    if abs(v) < 1000:
        return f"{sign}${abs(v):,.2f}"
    return f"{sign}${number(abs(v), digits)}"


def percent(value, digits: int = 1, signed: bool = False) -> str:
    """A fraction as a percentage: ``0.125 -> '12.5%'`` (``signed``: ``'+12.5%'``)."""
    if _missing(value):
        return "–"
    return f"{float(value) * 100:{'+' if signed else ''},.{digits}f}%"


def change(pct) -> str:
    """A change already in percent (as :func:`store.queries.kpis` gives it): ``3.14 -> '+3.1% vs PY'``."""
    if _missing(pct):
        return "no prior year"
    return f"{float(pct):+,.1f}% vs PY"


def cards_html(cards: list[tuple[str, str, str]]) -> str:
    """KPI cards (title, value, note) in the Measure tab's markup (``assets/artemis.css``), text escaped."""
    import html

    body = "".join(f'<div class="kpi-card"><div class="kpi-title">{html.escape(t)}</div>'
                   f'<div class="kpi-value">{html.escape(v)}</div><div class="kpi-change neutral">{html.escape(n)}'
                   "</div></div>" for t, v, n in cards)
    return f'<div class="kpi-cards">{body}</div>'
