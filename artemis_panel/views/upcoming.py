"""UpcomingView: a tab whose feature has not landed yet, saying what it will do and what to use meanwhile."""

from __future__ import annotations

import panel as pn
import param

PLANS = {
    "Forecast": (
        "Forecast transactions for the weeks ahead under a spend plan, with a 94% band from the "
        "posterior draws saved with the run (no MCMC in the app).",
        "Until then: `artemis train` writes `response.parquet`, the draws this tab will use.",
    ),
    "Maximize": (
        "Find the budget split across channels that buys the most transactions for a total budget, "
        "within per-channel bounds, and compare it with the current plan.",
        "Until then: the driver performance chart in Measure shows each channel's spend per incremental "
        "transaction.",
    ),
    "Jobs": (
        "Launch training and cross-validation on this machine or as SageMaker jobs, and follow their "
        "progress here.",
        "Until then: `artemis train DATASET --out RUNS` then `artemis sync`.",
    ),
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
