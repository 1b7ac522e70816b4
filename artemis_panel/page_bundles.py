"""Which of BokehJS's and Panel's script bundles a page asks the browser for: only those the app's pages use.

Panel 1.10 writes into every page each bundle some page might need, and a first visit's browser downloads, parses
and runs every one of them before it draws anything. The app's pages (every tab: the later tabs' views are built in
the page the first visit loaded) never use three of them:

* BokehJS's MathJax bundle (1.8 MB; about 180 ms of parsing and 45 ms of running in a first visit). Panel asks for it
  whenever a page has an HTML or Markdown pane, since any of them might hold LaTeX; no text of this app is LaTeX.
  (Bokeh's own check, of Bokeh models that do hold LaTeX, stays.)
* BokehJS's WebGL bundle (274 kB). Every chart of the app draws on a 2D canvas: no figure asks for
  ``output_backend="webgl"``.
* es-module-shims (38 kB), the polyfill behind Panel's ESM components (``ReactiveESM``, ``JSComponent``,
  ``ReactComponent``, ``AnyWidgetComponent``). The app has none.

And the server no longer walks every model of each page it serves to find out whether the page needs BokehJS's
table bundle (about 16 ms a page): the app's tables are Panel's Tabulator, which renders without it, and it has no
Bokeh ``DataTable``.

Each of these leans on a private part of Panel or Bokeh; where that part is gone (a later release), the page loads
what Panel decides, as before. ``tests/ui/test_measure_ui.py`` checks a served page asks for none of the three.
"""

from __future__ import annotations


def trim() -> None:
    """Leave the unused bundles out of every page this process serves (call once, at import)."""
    from bokeh.resources import Resources
    from panel.io import resources

    if callable(getattr(resources, "_panel_use_mathjax", None)):
        resources._panel_use_mathjax = lambda roots: False
    if callable(getattr(resources, "_panel_use_tables", None)):
        resources._panel_use_tables = lambda roots: False
    defaults = getattr(Resources, "_default_components", None)
    if isinstance(defaults, list) and "bokeh-gl" in defaults:
        Resources._default_components = [c for c in defaults if c != "bokeh-gl"]
    try:
        from panel.models.esm import ReactiveESM
    except ImportError:  # (no ESM components in this Panel: nothing to leave out)
        return
    ReactiveESM.__javascript__ = []
    ReactiveESM.__javascript_raw__ = []
