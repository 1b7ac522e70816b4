"""The Artemis dashboard: ``panel serve panel_serve.py`` (one app per browser session)."""

from artemis_panel.app import build_app

build_app().servable(title="Artemis MMM")
