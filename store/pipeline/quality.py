"""Data quality rules on a batch (schema, types, required, unique, ranges, references, freshness) and the
quarantine of a failing batch: its files copied under ``quarantine/<batch_id>/`` with ``report.json``."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from store.pipeline.bronze import canonical_columns
from store.pipeline.config import Entity, PipelineConfig, Reference
from store.pipeline.engine import Engine
from store.pipeline.landing import LandingFile, columns

SAMPLE_ROWS = 5


@dataclass
class Failure:
    rule: str  # schema | type | required | unique | range | reference | freshness
    column: str  # canonical column(s), comma-separated
    message: str
    rows: int  # offending rows (unique: duplicated key groups)
    sample: list[dict] = field(default_factory=list)


def implicit_references(entity: Entity) -> tuple[Reference, ...]:
    """A media row must name a taxonomy variable (channel, message type), configured or not."""
    refs = entity.rules.references
    if entity.kind == "media" and not any(r.to == "taxonomy" for r in refs):
        refs = (*refs, Reference(("channel", "message_type"), "taxonomy"))
    return refs


def reference_tables(cfg: PipelineConfig) -> dict[str, pa.Table]:
    tax = cfg.taxonomy
    return {
        "taxonomy": pa.table({"v1": [t.channel for t in tax], "v2": [t.message_type for t in tax]}),
        "channels": pa.table({"v1": sorted({t.channel for t in tax})}),
        "message_types": pa.table({"v1": sorted({t.message_type for t in tax})}),
        "audiences": pa.table({"v1": sorted(set(cfg.audiences))}),
    }


def check_schema(entity: Entity, files: list[LandingFile]) -> list[Failure]:
    """Every mapped source column is in every file."""
    out = []
    for c in entity.columns:
        lacking = [f.rel for f in files if c.source not in columns(f)]
        if lacking:
            out.append(Failure("schema", c.name, f"landing column {c.source!r} missing", len(lacking),
                               [{"file": rel} for rel in lacking[:SAMPLE_ROWS]]))
    return out


def check_rows(engine: Engine, cfg: PipelineConfig, entity: Entity, typed_view: str,
               files: list[LandingFile]) -> tuple[int, list[Failure]]:
    """(rows in the batch, failures): one scan for the row rules, one for uniqueness, samples on failure."""
    names = {n: t for n, t in canonical_columns(entity)}
    required = set(entity.rules.required) | {"date"}
    conds: list[tuple[str, str, str, str]] = []  # (rule, column, message, SQL condition on row x)
    for c in entity.columns:
        if c.type != "string":
            conds.append(("type", c.name, f"not a {c.type} ({c.source!r})",
                          f"x.{c.name}__raw IS NOT NULL AND x.{c.name} IS NULL"))
    for name in sorted(required):
        null = f"x.{name} IS NULL" if names[name] == "string" else f"x.{name}__raw IS NULL"
        conds.append(("required", name, "missing value", null))
    for name, (lo, hi) in entity.rules.ranges.items():
        parts = ([f"x.{name} < {lo!r}"] if lo is not None else []) + ([f"x.{name} > {hi!r}"] if hi is not None else [])
        bounds = " and ".join(([f">= {lo}"] if lo is not None else []) + ([f"<= {hi}"] if hi is not None else []))
        conds.append(("range", name, f"out of range (must be {bounds})", " OR ".join(parts)))
    joins = []
    for i, ref in enumerate(implicit_references(entity)):
        alias = f"r{i}"
        on = " AND ".join(f"x.{c} = {alias}.v{k + 1}" for k, c in enumerate(ref.columns))
        joins.append(f"LEFT JOIN (SELECT DISTINCT * FROM ref_{ref.to}) {alias} ON {on}")
        present = " AND ".join(f"x.{c} IS NOT NULL" for c in ref.columns)
        conds.append(("reference", ", ".join(ref.columns), f"not in the {ref.to} of pipeline.yaml",
                      f"{present} AND {alias}.v1 IS NULL"))
    source = f"{typed_view} x {' '.join(joins)}"
    sums = ", ".join(f"sum(CASE WHEN {cond} THEN 1 ELSE 0 END) AS c{i}" for i, (_, _, _, cond) in enumerate(conds))
    fresh = entity.rules.freshness
    latest = f", max(x.{fresh[0]}) AS latest" if fresh else ""
    counts = engine.fetch(f"SELECT count(*) AS n{', ' + sums if sums else ''}{latest} FROM {source}").to_pylist()[0]
    n = int(counts["n"])
    rel = {f.key: f.rel for f in files}
    failures = []
    show = ["_file"] + [f"{c.name}__raw" for c in entity.columns]
    for i, (rule, column, message, cond) in enumerate(conds):
        bad = int(counts[f"c{i}"] or 0)
        if bad:
            order = ", ".join(f"x.{c}" for c in show)
            rows = engine.fetch(f"SELECT {', '.join('x.' + c for c in show)} FROM {source} WHERE {cond} "
                                f"ORDER BY {order} LIMIT {SAMPLE_ROWS}").to_pylist()
            failures.append(Failure(rule, column, message, bad, [_sample(r, entity, rel) for r in rows]))
    if entity.rules.unique:
        keys = ", ".join(entity.rules.unique)
        dup = (f"SELECT {keys}, count(*) AS copies, min(_file) AS _file FROM {typed_view} GROUP BY {keys} "
               f"HAVING count(*) > 1")
        groups = int(engine.fetch(f"SELECT count(*) AS n FROM ({dup}) d").to_pylist()[0]["n"])
        if groups:
            rows = engine.fetch(f"SELECT * FROM ({dup}) d ORDER BY {keys} LIMIT {SAMPLE_ROWS}").to_pylist()
            failures.append(Failure("unique", keys, "key appears more than once", groups,
                                    [{"file": rel.get(r.pop("_file"))} | {k: _json(v) for k, v in r.items()}
                                     for r in rows]))
    if fresh and n:
        as_of = cfg.as_of or dt.datetime.now(dt.timezone.utc).date()
        oldest = as_of - dt.timedelta(days=fresh[1])
        if counts["latest"] is None or counts["latest"] < oldest:
            failures.append(Failure("freshness", fresh[0], f"newest date is before {oldest} ({fresh[1]} days before "
                                                           f"{as_of})", n, [{"latest": _json(counts["latest"])}]))
    return n, failures


def _json(v):
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    return v


def _sample(row: dict, entity: Entity, rel: dict[str, str]) -> dict:
    out = {"file": rel.get(row["_file"], row["_file"])}
    for c in entity.columns:
        out[c.source] = _json(row[f"{c.name}__raw"])
    return out


def quarantine(work: Path, batch_id: str, entity: Entity, files: list[LandingFile], failures: list[Failure],
               rows: int | None) -> Path:
    """Copy the batch's files under ``quarantine/<batch_id>/files/`` and write ``report.json`` there."""
    folder = work / "quarantine" / batch_id
    tmp = folder.with_name(f".{batch_id}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "files").mkdir(parents=True)
    for f in files:
        dest = tmp / "files" / f.rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f.path, dest)
    report = {"batch_id": batch_id, "entity": entity.name, "config": str(entity.file),
              "files": [{"path": f.rel, "sha256": f.sha256, "key": f.key} for f in files], "rows": rows,
              "failures": [asdict(x) for x in failures]}
    (tmp / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder
