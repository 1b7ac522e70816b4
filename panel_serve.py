"""The Artemis dashboard: ``panel serve panel_serve.py`` (one app per browser session)."""

from artemis_panel.app import serve_page

serve_page(title="Artemis MMM")
