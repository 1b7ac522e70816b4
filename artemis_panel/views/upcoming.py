"""UpcomingView: a tab whose feature has not landed yet, saying what it will do and what to use meanwhile."""

from __future__ import annotations

import panel as pn
import param

PLANS = {
    "Compare": (
        "Put runs side by side (fit, diagnostics, contributions) with model-review checks, and promote "
        "the reference run.",
        "Until then: pick another run in the sidebar; each run's R-hat, ESS and MAPE are in its manifest.",
    ),
}


class UpcomingView(pn.viewable.Viewer):
    """The placeholder of a tab to come."""

    tab = param.Selector(objects=list(PLANS), doc="Which tab this stands in for.")

    def __panel__(self):
        what, meanwhile = PLANS[self.tab]
        return pn.Column(
            pn.pane.Markdown(f"## {self.tab}\n\n**Coming next.** {what}\n\n{meanwhile}",
                             css_classes=["upcoming"], sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )
