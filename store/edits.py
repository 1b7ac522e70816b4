"""Small edits to the store (saved scenarios, the run registry), made the way a sync writes: under the
writer lock (one writer at a time, syncs included), on a copy of the store file that is then swapped in,
so readers never see a half state and a crash leaves the store as it was."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from store.reader import StoreMissing
from store.schema import connect_writable, migrate
from store.sync import TMP_SUFFIX, _publish, _writer_lock


def apply_edits(store_path: str | Path, statements: list[tuple[str, list[Any]]]) -> None:
    """Run ``(sql, params)`` statements in one transaction on a copy of the store and swap it in."""
    store_path = Path(store_path).expanduser().resolve()
    if not store_path.exists():
        raise StoreMissing(f"no store at {store_path}: run `artemis sync` first")
    with _writer_lock(store_path):
        tmp = store_path.with_name(f"{store_path.name}.{os.getpid()}.edit{TMP_SUFFIX}")
        shutil.copyfile(store_path, tmp)
        con = connect_writable(tmp)
        try:
            migrate(con)
            con.execute("BEGIN")
            for sql, params in statements:
                con.execute(sql, params)
            con.execute("COMMIT")
            con.execute("CHECKPOINT")
            con.close()
            _publish(tmp, store_path)
        except BaseException:
            con.close()
            tmp.unlink(missing_ok=True)
            Path(f"{tmp}.wal").unlink(missing_ok=True)
            raise
