"""Default locations: the user's data folder, its runs folder and its store file."""

from __future__ import annotations

import os
from pathlib import Path

BUNDLED_DEMO_RUNS = Path(__file__).resolve().parents[1] / "assets" / "demo_runs"


def data_dir() -> Path:
    """``$ARTEMIS_DATA_DIR``, else the platform's user data folder (``~/.local/share/artemis``)."""
    env = os.environ.get("ARTEMIS_DATA_DIR")
    if env:
        return Path(env).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_data_dir("artemis"))


def default_store() -> Path:
    return Path(os.environ.get("ARTEMIS_STORE") or data_dir() / "artemis.duckdb")


def default_runs_root() -> Path:
    return data_dir() / "runs"
