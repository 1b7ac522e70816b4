"""What one job does, as plain JSON, and doing it: the same code runs in a local worker process and in
the SageMaker container's entrypoint.

Kinds:
  ``train``  fit the dataset and write a run folder under ``out`` (the runs root);
  ``cv``     walk-forward cross-validation of the dataset into the CV folder ``out`` (folds run by
             the backend in ``cv["backend"]``: local processes or SageMaker jobs);
  ``fold``   fit one cross-validation fold into ``out/fold-NN/`` (what a CV's SageMaker job runs).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

KINDS = ("train", "cv", "fold")

Progress = Callable[[float], None]
Say = Callable[[str], None]


class SpecError(ValueError):
    """A job spec that cannot run; the message names the field."""


@dataclass
class JobSpec:
    kind: str
    dataset: str  # local folder or s3://bucket/prefix/
    out: str  # runs root (train) or CV folder (cv, fold); local or s3:// for SageMaker outputs
    config: dict = field(default_factory=dict)  # a ModelConfig as a dict (config.to_dict())
    name: str = ""
    fold: dict | None = None  # a Fold as a dict (kind "fold")
    cv: dict | None = None  # folds, test_weeks, step_weeks, train_weeks, parallel, backend (kind "cv")
    tracking_uri: str | None = None
    log_to_mlflow: bool = True

    def check(self) -> None:
        from jobs.config import ConfigError, config_from_dict

        if self.kind not in KINDS:
            raise SpecError(f"job spec: field 'kind' must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not self.dataset:
            raise SpecError("job spec: field 'dataset' is empty")
        if not self.out:
            raise SpecError("job spec: field 'out' is empty")
        try:
            config_from_dict(self.config, "job spec field 'config'")
        except ConfigError as e:
            raise SpecError(str(e)) from None
        if self.kind == "fold" and not self.fold:
            raise SpecError("job spec: kind 'fold' needs the field 'fold'")
        if self.kind == "cv" and not self.cv:
            raise SpecError("job spec: kind 'cv' needs the field 'cv'")

    def model_config(self):
        from jobs.config import config_from_dict

        return config_from_dict(self.config, "job spec field 'config'")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str, source: str = "job spec") -> "JobSpec":
        try:
            values = json.loads(text)
        except json.JSONDecodeError as e:
            raise SpecError(f"{source}: not valid JSON ({e})") from None
        if not isinstance(values, dict):
            raise SpecError(f"{source}: must be a JSON object")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise SpecError(f"{source}: unknown field '{unknown[0]}' (known: {', '.join(sorted(known))})")
        missing = [k for k in ("kind", "dataset", "out") if k not in values]
        if missing:
            raise SpecError(f"{source}: missing field '{missing[0]}'")
        spec = cls(**values)
        spec.check()
        return spec

    @classmethod
    def read(cls, path: str | Path) -> "JobSpec":
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as e:
            raise SpecError(f"{path}: cannot read the job spec ({e.strerror})") from None
        return cls.from_json(text, str(path))


def execute(spec: JobSpec, progress: Progress | None = None, say: Say = print,
            dataset: str | None = None, out: str | None = None) -> dict:
    """Do the job; ``dataset`` and ``out`` replace the spec's (the container's local paths).

    Returns what it made: ``{"run_dir": ...}``, ``{"cv_dir": ...}`` or ``{"fold_dir": ...}``.
    Raises the training errors (``DatasetError``, ``TrainingError``, ``FoldError``) before writing anything.
    """
    spec.check()
    cfg = spec.model_config()
    dataset = dataset or spec.dataset
    out = out or spec.out
    if spec.kind == "train":
        from jobs.train import train

        result = train(dataset, out, cfg, tracking_uri=spec.tracking_uri, say=say,
                       progress=(lambda frac, _div: progress(frac)) if progress else None,
                       progress_bar=False, log_to_mlflow=spec.log_to_mlflow, dataset_label=spec.dataset)
        return {"run_dir": str(result.run_dir), "run_id": result.manifest["run_id"], "status": result.manifest["status"]}
    if spec.kind == "fold":
        from jobs.cv_fold import fit_fold, write_fold
        from jobs.dataset import load_dataset
        from jobs.folds import Fold

        fold = Fold.from_dict(spec.fold)
        ds = load_dataset(dataset, target=cfg.target)
        say(f"{fold.describe()}")
        metrics, predictions = fit_fold(ds, cfg, fold, progress=progress)
        path = write_fold(out, fold, metrics, predictions)
        say(f"fold {fold.index + 1}: test MAPE {metrics['test']['mape']:.2f}%, CRPS {metrics['test']['crps']:.1f}")
        return {"fold_dir": str(path)}
    from jobs.cv import CVSettings, run_cv

    settings = CVSettings.from_dict(spec.cv)
    result = run_cv(dataset, cfg, settings, out, tracking_uri=spec.tracking_uri,
                    log_to_mlflow=spec.log_to_mlflow, say=say, progress=progress)
    out = {"cv_dir": str(result.cv_dir), "cv_id": result.summary["cv_id"], "status": result.summary["status"]}
    if result.summary["errors"]:
        out["error"] = "; ".join(f"fold {k}: {v}" for k, v in result.summary["errors"].items())
    return out
