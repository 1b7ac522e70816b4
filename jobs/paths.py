"""Where the jobs side keeps its files by default: the user's Artemis data folder and what is in it."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming the data folder (the same one the store uses).
DATA_DIR_ENV = "ARTEMIS_DATA_DIR"


def data_dir() -> Path:
    """``$ARTEMIS_DATA_DIR``, else the platform's user data folder (``~/.local/share/artemis``)."""
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_data_dir("artemis")).resolve()


def default_jobs_root() -> Path:
    """The jobs launched from this machine: ``<data dir>/jobs``."""
    return data_dir() / "jobs"


def default_cv_root() -> Path:
    """Cross-validation results: ``<data dir>/runs/cv``, inside the runs folder, so that a sync of that
    folder (``artemis sync``, or the Jobs tab when a CV ends) brings their scores into the store."""
    return data_dir() / "runs" / "cv"
