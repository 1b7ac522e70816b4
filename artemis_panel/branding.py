"""Branding from ``assets/``: the stylesheet and the logo."""

from __future__ import annotations

import base64
from functools import cache
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[1] / "assets"


@cache
def stylesheet() -> str:
    """``assets/artemis.css``: the stylesheet of the panes whose HTML uses its classes (each renders in a shadow root
    of its own, which a page-wide stylesheet does not reach)."""
    return (ASSETS / "artemis.css").read_text()


@cache
def logo_uri() -> str:
    """The logo as a data URI (served with the page, no static route needed)."""
    return "data:image/svg+xml;base64," + base64.b64encode((ASSETS / "logo.svg").read_bytes()).decode()
