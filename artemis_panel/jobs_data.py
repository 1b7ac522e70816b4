"""What the Jobs tab computes without widgets: the launch form's fields (from the model config), the
job spec a filled form makes (checked before anything starts), and the jobs table."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Sequence

import pandas as pd

from jobs.config import ADAPTATIONS, SATURATIONS, VARIANTS, ModelConfig, SamplerConfig, load_config
from jobs.job_spec import JobSpec
from jobs.local_runner import JobRecord

# The config fields the form shows, with their choices where they have some: the model's own
# fields, then the sampler's. (Priors stay in a config YAML: too many for a form.)
MODEL_FIELDS = ("variant", "saturation", "l_max", "yearly_seasonality", "trend", "holdout_weeks")
SAMPLER_FIELDS = ("draws", "tune", "chains", "seed", "target_accept", "adaptation")
CHOICES = {"variant": VARIANTS, "saturation": SATURATIONS, "adaptation": ADAPTATIONS}
LABELS = {"l_max": "Adstock weeks (l_max)", "yearly_seasonality": "Seasonality order",
          "holdout_weeks": "Holdout weeks", "target_accept": "Target accept"}
INSTANCE_TYPES = ("ml.m5.xlarge", "ml.m5.2xlarge", "ml.m5.4xlarge", "ml.c5.2xlarge", "ml.c5.4xlarge",
                  "ml.c5.9xlarge", "ml.m5.12xlarge")
SAGEMAKER_ENV = {"image_uri": "ARTEMIS_SAGEMAKER_IMAGE", "role_arn": "ARTEMIS_SAGEMAKER_ROLE",
                 "s3_prefix": "ARTEMIS_SAGEMAKER_S3_PREFIX"}
STATUS_ICONS = {"queued": "⏳", "running": "▶", "succeeded": "✔", "failed": "✖", "cancelled": "■"}


@dataclasses.dataclass
class FormField:
    name: str
    label: str
    kind: type  # bool, int, float or str
    default: object
    choices: tuple | None = None


def form_fields() -> list[FormField]:
    """The form's config fields, typed and defaulted from ``ModelConfig`` and ``SamplerConfig``."""
    out = []
    for cls, names in ((ModelConfig, MODEL_FIELDS), (SamplerConfig, SAMPLER_FIELDS)):
        defaults = cls()
        for name in names:
            value = getattr(defaults, name)
            out.append(FormField(name, LABELS.get(name, name.replace("_", " ").capitalize()),
                                 type(value), value, CHOICES.get(name)))
    return out


def sagemaker_defaults() -> dict:
    """SageMaker settings the host set in the environment (``ARTEMIS_SAGEMAKER_*``)."""
    return {k: os.environ.get(env, "") for k, env in SAGEMAKER_ENV.items()}


def default_dataset() -> str:
    """``data/demo`` when ``make demo`` made it, else nothing."""
    path = Path("data/demo")
    return str(path.resolve()) if (path / "training.csv").is_file() else ""


def make_spec(kind: str, dataset: str, config: dict, runs_root: str | Path, cv_root: str | Path,
              cv: dict | None = None, tracking_uri: str | None = None,
              brands: Sequence[str] | None = None) -> JobSpec:
    """The job a filled form launches. Raises ``ConfigError`` naming a bad field, ``ValueError`` for a
    missing dataset or one of a brand not in ``brands`` (None: any brand), ``DatasetError`` /
    ``FoldError`` when the data cannot be fitted as asked (checked here, so a bad dataset is said at
    once instead of failing in a queued job)."""
    from jobs.cv import CVSettings, plan_folds
    from jobs.dataset import load_dataset
    from jobs.train import prepare

    dataset = (dataset or "").strip()
    if not dataset:
        raise ValueError("Dataset: give a dataset folder (local path or s3://bucket/prefix/)")
    if "://" not in dataset and not Path(dataset).expanduser().is_dir():
        raise ValueError(f"Dataset: no folder at {dataset}")
    cfg = load_config(None, **config)
    ds = load_dataset(dataset, target=cfg.target)
    if brands is not None:
        brand = cfg.brand or ds.meta.get("brand") or Path(dataset.rstrip("/")).name
        if brand not in brands and ds.meta.get("brand_id") not in brands:
            raise ValueError(f"Dataset: its brand {brand!r} is not one you may model "
                             f"({', '.join(brands) or 'none granted'})")
    if kind == "cv":
        settings = CVSettings.from_dict(cv)
        plan_folds(ds, cfg, settings)
        out = str(cv_root)
        name = f"CV {Path(dataset.rstrip('/')).name} ×{settings.folds}"
    else:
        prepare(ds, cfg)
        out = str(runs_root)
        name = f"Train {Path(dataset.rstrip('/')).name}"
    dataset = dataset if "://" in dataset else str(Path(dataset).expanduser().resolve())
    return JobSpec(kind=kind, dataset=dataset, out=out, config=cfg.to_dict(), name=name, cv=cv,
                   tracking_uri=tracking_uri)


def jobs_table(jobs: list[JobRecord]) -> pd.DataFrame:
    """One row per job, newest first: what a user scans for."""
    rows = []
    for j in jobs:
        if j.status == "succeeded":
            detail = j.result.get("run_id") or j.result.get("cv_id") or ""
        elif j.status == "failed":
            detail = (j.error or "")[:160]
        else:
            detail = j.message or ""
        rows.append({
            "job": j.job_id, "name": j.name, "backend": j.backend,
            "status": f"{STATUS_ICONS.get(j.status, '')} {j.status}", "progress": round(j.progress * 100, 1),
            "elapsed": _duration(j.elapsed_s), "created": j.created_at.replace("T", " ").rstrip("Z"),
            "detail": detail,
        })
    return pd.DataFrame(rows, columns=["job", "name", "backend", "status", "progress", "elapsed", "created", "detail"])


def _duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
