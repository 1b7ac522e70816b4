"""An editable Tabulator whose ``on_edit`` callbacks fire for every edit made in the browser.

A cell edit in the browser sends the server two messages: a ``table-edit`` event, then a patch of the
table's data. Panel 1.10 queues the event and fires ``on_edit`` when the patch lands, for the events
queued by then. Served with ``--num-threads`` (as ``make serve`` and ``artemis serve`` do), the two
messages are handled on different worker threads; when the patch lands first, the event is queued after
the only moment it is looked for, and the edit is lost: the browser shows the new value and the server
never acts on it. Under load on 2 cores, 3 edits in 147 were lost that way (a Forecast scale edit
that never redrew the forecast).

:class:`EditTable` puts the queueing and the landing under one lock, and fires an event whose patch has
already landed at once, so each edit fires exactly once in either order.
"""

from __future__ import annotations

import threading

import pandas as pd
import panel as pn


class EditTable(pn.widgets.Tabulator):
    """``pn.widgets.Tabulator`` whose ``on_edit`` callbacks fire once per browser edit, whichever of the
    edit's two messages the server handles first."""

    def __init__(self, value=None, **params):
        self._edit_lock = threading.RLock()
        super().__init__(value, **params)

    def _update_column(self, column, array) -> None:
        with self._edit_lock:  # (lands the patch and fires the edits queued before it)
            super()._update_column(column, array)

    def _process_event(self, event) -> None:
        if event.event_name != "table-edit":
            super()._process_event(event)
            return
        with self._edit_lock:
            super()._process_event(event)
            key = next((k for k, queued in self._pending_edits.items() if any(e is event for e in queued)), None)
            if key is None:  # (Panel ignored it: an unknown column or no value)
                return
            column, index = key
            if self._holds(column, index, event.value):  # its patch landed first: fire it now
                self._fire_pending_edits(column, [index])

    def _holds(self, column: str, index, value) -> bool:
        """Whether the table's value already holds ``value`` at (``index``, ``column``)."""
        try:
            current = self.value.at[index, column]
        except (KeyError, ValueError):
            return False
        try:
            return bool(current == value) or bool(pd.isna(current) and pd.isna(value))
        except (TypeError, ValueError):
            return False
