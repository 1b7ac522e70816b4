"""Run the pipeline: landing -> bronze (new batches only, quality-checked) -> silver -> gold tables and the
training dataset, skipping every layer whose input has not changed since it was built."""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from store.pipeline.bronze import typed_sql, write_bronze
from store.pipeline.config import PIPELINE_FILE, ConfigError, PipelineConfig, load_config
from store.pipeline.engine import Engine, open_engine
from store.pipeline.gold import build_gold
from store.pipeline.history import History, now
from store.pipeline.landing import LandingFile, find_files
from store.pipeline.outputs import GoldWriter
from store.pipeline.quality import check_rows, check_schema, quarantine, reference_tables
from store.pipeline.silver import build_silver, register_silver
from store.pipeline.training_dataset import build_training, write_training

STAGES = ("landing", "bronze", "silver", "gold")
FACT = {"media": ("fact_media", "media_weekly"), "sales": ("fact_sales", "sales_weekly"),
        "control": ("fact_control", "controls_weekly")}

Say = Callable[[str], None]


@dataclass
class BatchResult:
    batch_id: str
    entity: str
    files: list[str]
    status: str  # ok | quarantined
    rows: int | None = None
    quarantine: str | None = None
    failures: list[str] = field(default_factory=list)


@dataclass
class RunReport:
    run_id: str
    engine: str
    batches: list[BatchResult] = field(default_factory=list)
    silver_rows: dict[str, int] | None = None  # None: silver not rebuilt
    gold_written: list[str] = field(default_factory=list)
    gold_unchanged: list[str] = field(default_factory=list)
    training_dataset: str | None = None  # "written" | "unchanged" | None (not built)
    seconds: float = 0.0

    @property
    def quarantined(self) -> list[BatchResult]:
        return [b for b in self.batches if b.status == "quarantined"]

    def lines(self) -> list[str]:
        out = []
        for b in self.batches:
            if b.status == "ok":
                out.append(f"batch {b.batch_id}: {len(b.files)} file(s), {b.rows:,} rows -> bronze")
            else:
                out.append(f"batch {b.batch_id}: QUARANTINED in {b.quarantine}")
                out.extend(f"  - {f}" for f in b.failures)
        if not self.batches:
            out.append("no new landing files")
        if self.silver_rows is not None:
            out.append("silver rebuilt: " + ", ".join(f"{k} {v:,}" for k, v in self.silver_rows.items()))
        if self.gold_written or self.gold_unchanged:
            out.append(f"gold: {', '.join(self.gold_written) or 'none'} written; "
                       f"{', '.join(self.gold_unchanged) or 'none'} unchanged")
        if self.training_dataset:
            out.append(f"training dataset {self.training_dataset}")
        if self.silver_rows is None and not self.gold_written and not self.gold_unchanged:
            out.append("silver and gold are up to date")
        out.append(f"{self.engine}: {self.seconds:.1f} s")
        return out


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _tree(folder: Path) -> str:
    """What a folder holds, by file name, size and modification time."""
    if not folder.is_dir():
        return "absent"
    items = sorted(f"{p.relative_to(folder).as_posix()}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
                   for p in folder.rglob("*.parquet"))
    return _fingerprint(*items)


def _config_fingerprint(cfg: PipelineConfig) -> str:
    return _fingerprint(*(f"{p.name}:{p.read_bytes().hex()}" for p in sorted(cfg.dir.glob("*.yaml"))))


def batch_id(entity: str, files: list[LandingFile]) -> str:
    return f"{entity}-{_fingerprint(*(f'{f.rel}:{f.sha256}' for f in files))[:16]}"


def run_pipeline(config_dir: str | Path, start: str = "landing", stop: str = "gold", engine: str | None = None,
                 progress: bool = False, say: Say | None = None) -> RunReport:
    """Run the layers from ``start`` to ``stop`` on the config's engine (or ``engine``).

    Raises ConfigError (naming file and field) before anything is read or written when the config is wrong.
    """
    t0 = time.perf_counter()
    cfg = load_config(config_dir)
    pfile = cfg.dir / PIPELINE_FILE
    if start not in STAGES[:3]:
        raise ConfigError(pfile, "--from", f"must be one of {', '.join(STAGES[:3])}, got {start!r}")
    if stop not in STAGES[1:] or STAGES.index(stop) <= STAGES.index(start):
        raise ConfigError(pfile, "--to", f"must be a layer after {start!r} (bronze, silver or gold), got {stop!r}")
    engine_name = engine or cfg.engine
    if engine_name not in ("duckdb", "spark"):
        raise ConfigError(pfile, "engine", f"must be duckdb or spark, got {engine_name!r}")
    if start == "landing" and not cfg.landing.is_dir():
        raise ConfigError(pfile, "paths.landing", f"folder {cfg.landing} not found")
    work, history = cfg.work, History(cfg.work)
    bronze, silver, tmp = work / "bronze", work / "silver", work / ".tmp"
    run_id = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:6]}"
    report = RunReport(run_id, engine_name)

    pending = []
    if start == "landing":
        for e in cfg.entities:
            settled = history.settled_files(e.name)
            todo = [f for f in find_files(cfg.landing, e.landing) if (f.rel, f.sha256) not in settled]
            if todo:
                pending.append((e, todo, batch_id(e.name, todo)))
    cfg_fp = _config_fingerprint(cfg)
    gold_target = f"{cfg.output}|{cfg.output_format}|{cfg.training.path if cfg.training else ''}"

    def silver_due() -> bool:
        return STAGES.index(stop) >= 2 and (start == "bronze" or not silver.is_dir()
                                            or history.built_from("silver") != _fingerprint(_tree(bronze), cfg_fp))

    def gold_due(silver_rebuilt: bool) -> bool:
        return stop == "gold" and (start in ("bronze", "silver") or silver_rebuilt
                                   or history.built_from("gold") != _fingerprint(_tree(silver), cfg_fp, gold_target))

    if not pending and not silver_due() and not gold_due(False):
        report.seconds = time.perf_counter() - t0
        return report  # nothing new: nothing opened, nothing written

    work.mkdir(parents=True, exist_ok=True)
    lock = open(work / ".pipeline.lock", "a")
    fcntl.flock(lock, fcntl.LOCK_EX)  # one run at a time per work folder (a second one waits here)
    from tqdm import tqdm

    bar = tqdm(total=len(pending) + 2, desc="pipeline", unit="step", file=sys.stderr, disable=not progress)
    eng = None
    try:
        eng = open_engine(engine_name, tmp / "engine")
        if pending:
            for name, table in reference_tables(cfg).items():
                eng.register_arrow(f"ref_{name}", table)
        ok_entities = set()
        for e, files, bid in pending:
            bar.set_postfix_str(f"{e.name}: checking {len(files)} file(s)")
            result = _batch(eng, cfg, history, run_id, e, files, bid, bronze, tmp)
            report.batches.append(result)
            if result.status == "ok":
                ok_entities.add(e.name)
            elif say:
                say(f"batch {bid} of {e.name} quarantined: {'; '.join(result.failures)}")
            bar.update(1)
        silver_rebuilt = False
        if silver_due():
            bar.set_postfix_str("silver")
            bronze_fp = _fingerprint(_tree(bronze), cfg_fp)
            report.silver_rows = build_silver(eng, cfg, bronze, silver, tmp / "silver")
            history.mark_built("silver", bronze_fp)
            silver_rebuilt = True
        bar.update(1)
        gold_rows: dict[str, int] = {}
        if gold_due(silver_rebuilt):
            bar.set_postfix_str("gold")
            if not silver_rebuilt:
                register_silver(eng, silver)
            silver_fp = _fingerprint(_tree(silver), cfg_fp, gold_target)
            gold = build_gold(eng)
            training = build_training(cfg, gold) if cfg.training else None
            writer = GoldWriter(cfg.output, cfg.output_format, cfg.storage_options)
            for name, table in gold.items():
                gold_rows[name] = table.num_rows
                (report.gold_written if writer.write(name, table) else report.gold_unchanged).append(name)
            if training is not None:
                report.training_dataset = "written" if write_training(cfg.training.path, training) else "unchanged"
            history.mark_built("gold", silver_fp)
        bar.update(1)
        if ok_entities:
            history.set_rows(run_id, {
                e.name: ((report.silver_rows or {}).get(FACT[e.kind][0]), gold_rows.get(FACT[e.kind][1]))
                for e in cfg.entities if e.name in ok_entities})
    finally:
        bar.close()
        if eng is not None:
            eng.close()
        shutil.rmtree(tmp, ignore_errors=True)
        lock.close()  # (releases the lock)
    report.seconds = time.perf_counter() - t0
    return report


def _batch(eng: Engine, cfg: PipelineConfig, history: History, run_id: str, e, files: list[LandingFile], bid: str,
           bronze: Path, tmp: Path) -> BatchResult:
    started = now()
    listed = [{"path": f.rel, "sha256": f.sha256, "bytes": f.size} for f in files]
    try:
        rows = None
        failures = check_schema(e, files)
        if not failures:
            eng.register_landing(f"landing_{e.name}", files)
            eng.execute(f"CREATE OR REPLACE TEMPORARY VIEW typed_{e.name} AS "
                        f"{typed_sql(e, eng.quote, f'landing_{e.name}')}")
            rows, failures = check_rows(eng, cfg, e, f"typed_{e.name}", files)
        if failures:
            folder = quarantine(cfg.work, bid, e, files, failures, rows)
            history.record(bid, run_id, e.name, eng.name, listed, "quarantined", started, rows_landing=rows,
                           failures=[f.__dict__ for f in failures], quarantine=str(folder))
            return BatchResult(bid, e.name, [f.rel for f in files], "quarantined", rows, str(folder),
                               [f"{f.rule} rule failed on {f.column}: {f.message} ({f.rows} row(s))" for f in failures])
        write_bronze(eng, e, f"typed_{e.name}", files, bronze, tmp / f"bronze-{bid}")
        history.record(bid, run_id, e.name, eng.name, listed, "ok", started, rows_landing=rows, rows_bronze=rows)
        return BatchResult(bid, e.name, [f.rel for f in files], "ok", rows)
    except BaseException as ex:
        history.record(bid, run_id, e.name, eng.name, listed, "failed", started, error=f"{type(ex).__name__}: {ex}")
        raise
