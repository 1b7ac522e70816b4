"""Gold tables -> the training dataset folder of the data contract (training.csv, taxonomy.csv, dataset.yaml),
one national row per week, written where ``artemis train`` reads it (a local folder or s3://bucket/prefix)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pyarrow as pa
import yaml

from store.pipeline.config import PipelineConfig

TAXONOMY_COLUMNS = ["variable", "kind", "channel", "channel_group", "pillar", "message_type", "signal"]


class TrainingDatasetError(ValueError):
    """The gold tables cannot make a valid training dataset (e.g. a week without sales)."""


def _weeks_text(weeks) -> str:
    shown = ", ".join(str(w) for w in weeks[:5])
    return shown + (f" and {len(weeks) - 5} more" if len(weeks) > 5 else "")


def build_training(cfg: PipelineConfig, gold: dict[str, pa.Table]) -> dict[str, bytes]:
    """The dataset's files, by name."""
    spec = cfg.training
    assert spec is not None
    sales = gold["sales_weekly"].to_pandas()
    if sales.empty:
        raise TrainingDatasetError("no sales rows in gold table sales_weekly: the training dataset needs its target")
    weekly = sales.groupby("week").agg(transactions=("transactions", "sum"), days=("days", "max"))
    if any(e.kind == "sales" and e.grain == "daily" for e in cfg.entities):
        weekly = weekly[weekly["days"] == 7]  # partial first or last week of daily sales
        if weekly.empty:
            raise TrainingDatasetError("no complete week (7 days) of daily sales")
    weeks = pd.DatetimeIndex(pd.to_datetime(weekly.index)).sort_values()
    full = pd.date_range(weeks[0], weeks[-1], freq="7D")
    missing = full.difference(weeks)
    if len(missing):
        raise TrainingDatasetError(f"weeks without (complete) sales between {weeks[0].date()} and {weeks[-1].date()}: "
                                   f"{_weeks_text([d.date() for d in missing])} (the data contract allows no gaps)")
    out = pd.DataFrame({"date": weeks.strftime("%Y-%m-%d")})
    key = weeks.date
    out[spec.target] = weekly["transactions"].reindex(key).to_numpy(dtype="int64")

    media = gold["media_weekly"].to_pandas()
    media["spend"] = media["spend"].astype(float)
    sums = media.groupby(["variable", "week"])[["spend", "impressions"]].sum()
    for t in cfg.taxonomy:
        rows = sums.loc[t.variable] if t.variable in sums.index.get_level_values(0) else None
        spend = rows["spend"].reindex(key, fill_value=0.0) if rows is not None else pd.Series(0.0, index=key)
        imps = rows["impressions"].reindex(key, fill_value=0) if rows is not None else pd.Series(0, index=key)
        if t.kind == "media":
            out[f"{t.variable}_spend"] = spend.round(2).to_numpy()
            out[f"{t.variable}_impressions"] = imps.to_numpy(dtype="int64")
        else:
            out[t.variable] = imps.to_numpy(dtype="int64")
    controls = gold["controls_weekly"].to_pandas()
    for c in cfg.controls:
        values = controls[controls["variable"] == c.name].set_index("week")["value"].reindex(key)
        if values.isna().any():
            lacking = [w for w, v in zip(key, values) if pd.isna(v)]
            raise TrainingDatasetError(f"control {c.name!r} has no value for week(s) {_weeks_text(lacking)}")
        out[c.name] = values.round(6).to_numpy()

    taxonomy = pd.DataFrame(
        [[t.variable, t.kind, t.channel, t.channel_group, t.pillar, t.message_type,
          t.signal if t.kind == "media" else ""] for t in cfg.taxonomy]
        + [[c.name, "control", "", "", "", "", ""] for c in cfg.controls], columns=TAXONOMY_COLUMNS)
    meta = {"brand": spec.brand, "brand_id": spec.brand_id, "target": spec.target,
            "source": {"pipeline": str(cfg.dir), "weeks": len(out), "start": out["date"].iloc[0],
                       "end": out["date"].iloc[-1]}}
    return {"training.csv": out.to_csv(index=False, lineterminator="\n").encode(),
            "taxonomy.csv": taxonomy.to_csv(index=False, lineterminator="\n").encode(),
            "dataset.yaml": yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).encode()}


def write_training(path: str, files: dict[str, bytes]) -> bool:
    """Write the dataset folder unless it already holds exactly these files; True when written. A local
    folder is replaced in one rename (never half-written)."""
    if path.startswith("s3://"):
        import boto3

        p = urlparse(path)
        bucket, prefix = p.netloc, p.path.strip("/")
        client = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"))
        same = True
        for name, data in files.items():
            try:
                same &= client.get_object(Bucket=bucket, Key=f"{prefix}/{name}")["Body"].read() == data
            except Exception:
                same = False
        if same:
            return False
        for name in sorted(files, key=lambda n: n == "dataset.yaml"):
            client.put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=files[name])
        return True
    folder = Path(path)
    if folder.is_dir() and all((folder / n).is_file() and (folder / n).read_bytes() == d for n, d in files.items()):
        return False
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, data in files.items():
        (tmp / name).write_bytes(data)
    old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return True


