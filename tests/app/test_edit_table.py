"""EditTable fires on_edit once per browser edit, whichever of the edit's two messages (the table-edit event,
the data patch) the server handles first, including on two threads at once (``panel serve --num-threads``)."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
from panel.models.tabulator import TableEditEvent

from artemis_panel.views.edit_table import EditTable


def _table() -> tuple[EditTable, list]:
    table = EditTable(pd.DataFrame({"variable": ["a", "b", "c"], "scale": [1.0, 1.0, 1.0]}), show_index=False)
    fired: list = []
    table.on_edit(lambda e: fired.append((e.column, e.row, e.value)))
    table._root_model = table.get_root()  # (a Bokeh model for the events, as a served page has)
    return table, fired


def _event(table, row: int, value: float, old: float = 1.0) -> TableEditEvent:
    return TableEditEvent(table._root_model, "scale", row, value=value, old=old)


def _patch(table, row: int, value: float) -> None:
    """The data patch the browser sends after an edit: the table's data with one cell changed."""
    scale = table.value["scale"].to_numpy(copy=True)
    scale[row] = value
    table._process_events({"data": {"variable": list(table.value["variable"]), "scale": list(scale)}})


def test_an_edit_whose_event_comes_first_fires_once_when_its_data_lands():
    table, fired = _table()
    table._process_event(_event(table, 1, 2.5))
    assert fired == []  # (not before the data holds it: a callback reading the table sees the new value)
    _patch(table, 1, 2.5)
    assert fired == [("scale", 1, 2.5)]
    assert table.value["scale"].tolist() == [1.0, 2.5, 1.0]


def test_an_edit_whose_data_lands_first_still_fires_once():
    table, fired = _table()
    _patch(table, 2, 4.0)
    assert fired == []
    table._process_event(_event(table, 2, 4.0))
    assert fired == [("scale", 2, 4.0)]
    _patch(table, 2, 4.0)  # (the same data again changes nothing and fires nothing)
    assert fired == [("scale", 2, 4.0)]


def test_an_edit_to_the_value_a_cell_already_holds_fires_once():
    table, fired = _table()
    table._process_event(_event(table, 0, 1.0))
    _patch(table, 0, 1.0)
    assert fired == [("scale", 0, 1.0)]


def test_edits_handled_on_two_threads_at_once_each_fire_exactly_once():
    table, fired = _table()
    rng = np.random.default_rng(7)
    n = 300
    for i in range(n):
        row, value = int(rng.integers(0, 3)), float(i + 2)
        start = threading.Barrier(2)

        def event():
            start.wait()
            table._process_event(_event(table, row, value))

        def patch():
            start.wait()
            _patch(table, row, value)

        threads = [threading.Thread(target=event), threading.Thread(target=patch)]
        for t in threads[:: 1 if i % 2 else -1]:
            t.start()
        for t in threads:
            t.join()
        assert len(fired) == i + 1, f"edit {i} (row {row} → {value}) fired {len(fired) - i} times"
        assert fired[-1] == ("scale", row, value)
    assert table._pending_edits == {}

