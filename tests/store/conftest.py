"""Fixtures for the store tests: a real moto S3 server, fault-injecting proxies, synthetic run folders.

Nothing here mocks boto3 in-process: S3 traffic goes over HTTP to a ``moto_server`` process
(optionally through a small proxy thread that counts requests and injects faults).
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import threading
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from store.schema import CONTRIBUTION_COLUMNS, RESPONSE_COLUMNS, SUMMARY_COLUMNS
from tests.aws import LocalHTTPProxy

REPO = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------------------------- moto
# The moto server (``moto_endpoint``) and ``aws_env`` come from tests/aws.py (registered in tests/conftest.py).


@pytest.fixture(autouse=True)
def _store_aws_env(aws_env):
    """Every store test runs with fake credentials and no ambient AWS settings."""


@pytest.fixture
def s3(moto_endpoint, aws_env):
    """A boto3 client straight to moto (no proxy): for setting up and changing the source."""
    import boto3

    return boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")


@pytest.fixture
def bucket(s3) -> str:
    """A fresh, empty bucket for this test."""
    name = f"t-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


def upload_folder(s3, bucket: str, prefix: str, folder: Path, under: str | None = None) -> list[str]:
    """Upload every file below ``folder`` to ``s3://bucket/prefix/[under/]...``; returns the keys."""
    folder = Path(folder)
    base = "/".join(p for p in (prefix.strip("/"), under or folder.name) if p)
    keys = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            key = f"{base}/{path.relative_to(folder).as_posix()}"
            s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
            keys.append(key)
    return keys


def delete_prefix(s3, bucket: str, prefix: str) -> int:
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for o in page.get("Contents", [])]
    for key in keys:
        s3.delete_object(Bucket=bucket, Key=key)
    return len(keys)


# ------------------------------------------------------------------------------------ run folders

TABLE_FILE = {"contributions": "contributions.parquet", "summaries": "summary.parquet",
              "response_draws": "response.parquet"}
MEDIA = ["Linear TV_Brand", "Linear TV_Promo", "Search_Brand", "Search_Generic", "Social_Brand",
         "Social_Promo", "Radio_Brand", "OOH_Brand"]
CONTROLS = ["price_index", "holiday_xmas", "owned_email", "earned_pr"]
AUDIENCES = ["north", "south"]
PARAMETERS = ["adstock_alpha", "saturation_lam", "saturation_beta", "channel_scale"]


def make_run_id(i: int, salt: str = "") -> str:
    """``2026-11-23T21-05-00Z-3f9c2a1``-style ids, increasing with ``i``."""
    ts = datetime(2026, 11, 23, 21, 5, tzinfo=timezone.utc) + timedelta(minutes=i)
    return ts.strftime("%Y-%m-%dT%H-%M-%SZ-") + hashlib.sha1(f"{i}:{salt}".encode()).hexdigest()[:7]


@dataclass
class Run:
    run_id: str
    brand: str
    path: Path
    rows: dict[str, int] = field(default_factory=dict)  # store table -> rows
    contribution_sum: float = 0.0  # contributions are whole numbers: sums are exact

    @property
    def files(self) -> dict[str, Path]:
        return {p.name: p for p in sorted(self.path.iterdir()) if p.is_file()}

    @property
    def size(self) -> int:
        return sum(p.stat().st_size for p in self.files.values())


def contributions_table(seed: int, weeks: int = 15) -> pa.Table:
    rng = np.random.default_rng(seed)
    variables = MEDIA + CONTROLS
    rows = [(date(2024, 1, 1) + timedelta(weeks=w), v, a) for a in AUDIENCES for v in variables for w in range(weeks)]
    n = len(rows)
    is_media = [r[1] in MEDIA for r in rows]
    contribution = rng.integers(0, 1000, n).astype("float64")
    spend = rng.uniform(0, 5e4, n)
    cols = {
        "date": pa.array([r[0] for r in rows], pa.date32()),
        "variable": [r[1] for r in rows],
        "channel": [r[1].split("_")[0] if m else None for r, m in zip(rows, is_media)],
        "channel_group": [("Offline" if r[1].split("_")[0] in ("Linear TV", "Radio", "OOH") else "Online") if m else None
                          for r, m in zip(rows, is_media)],
        "pillar": ["Media" if m else "Base" for m in is_media],
        "message_type": [r[1].split("_")[1] if m else None for r, m in zip(rows, is_media)],
        "audience": [r[2] for r in rows],
        "contribution": contribution,
        "contribution_lo": contribution - rng.uniform(0, 50, n),
        "contribution_hi": contribution + rng.uniform(0, 50, n),
        "spend": np.where(is_media, spend, 0.0),
        "impressions": np.where(is_media, spend * rng.uniform(50, 150, n), 0.0),
        "transactions": rng.uniform(1e4, 2e4, n),
        "is_media_variable": is_media,
        "is_control_variable": [not m for m in is_media],
        "kind": ["media" if m else ("holiday" if "holiday" in r[1] else "control") for r, m in zip(rows, is_media)],
        "split": ["train" if r[0] < date(2024, 1, 1) + timedelta(weeks=weeks - 3) else "test" for r in rows],
    }
    assert list(cols) == CONTRIBUTION_COLUMNS
    return pa.table(cols)


def summary_table(seed: int) -> pa.Table:
    rng = np.random.default_rng(seed + 1)
    rows = [(v, a) for a in AUDIENCES for v in MEDIA]
    n = len(rows)
    contribution = rng.uniform(1e3, 1e4, n)
    spend = rng.uniform(1e5, 1e6, n)
    cpit = spend / contribution
    cols = {
        "variable": [r[0] for r in rows], "audience": [r[1] for r in rows],
        "spend": spend, "impressions": spend * 100, "contribution": contribution,
        "contribution_lo": contribution * 0.8, "contribution_hi": contribution * 1.2,
        "cost_per_incremental_transaction": cpit, "cost_per_incremental_transaction_lo": cpit / 1.2,
        "cost_per_incremental_transaction_hi": cpit / 0.8,
        "transactions_per_1k_impressions": contribution / (spend * 100) * 1000,
    }
    assert list(cols) == SUMMARY_COLUMNS
    return pa.table(cols)


def response_table(seed: int, draws: int = 8) -> pa.Table:
    rng = np.random.default_rng(seed + 2)
    rows = [(a, v, p, d) for a in AUDIENCES for v in MEDIA for p in PARAMETERS for d in range(draws)]
    cols = {
        "audience": [r[0] for r in rows], "variable": [r[1] for r in rows],
        "kind": ["media"] * len(rows), "parameter": [r[2] for r in rows],
        "draw": pa.array([r[3] for r in rows], pa.int32()), "value": rng.uniform(0, 1, len(rows)),
    }
    assert list(cols) == RESPONSE_COLUMNS
    return pa.table(cols)


def write_run(root: Path, run_id: str, brand: str = "acme", seed: int = 0, weeks: int = 15) -> Run:
    """A small, contract-valid run folder ``root/run_id/``."""
    path = Path(root) / run_id
    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 3)
    created = datetime.strptime(run_id[:20], "%Y-%m-%dT%H-%M-%SZ").replace(tzinfo=timezone.utc)
    manifest = {
        "run_id": run_id, "brand": brand, "status": "succeeded",
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "finished_at": (created + timedelta(minutes=7)).isoformat().replace("+00:00", "Z"),
        "audience": AUDIENCES, "target": "total_transactions", "weeks": weeks,
        "dataset_fingerprint": hashlib.sha1(f"data{seed}".encode()).hexdigest(), "code_version": "0.1.0+test",
    }
    metrics = {
        "train": {"mape": float(rng.uniform(0.02, 0.1)), "r2": float(rng.uniform(0.8, 0.99)),
                  "durbin_watson": float(rng.uniform(1.5, 2.5))},
        "max_rhat": float(rng.uniform(1.0, 1.01)), "min_ess_bulk": float(rng.uniform(400, 2000)),
        "divergences": int(rng.integers(0, 3)), "fit_seconds": float(rng.uniform(30, 300)),
    }
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2))
    (path / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (path / "config.yaml").write_text(f"brand: {brand}\nseed: {seed}\nsampler:\n  draws: 8\n  chains: 1\n")
    tables = {"contributions": contributions_table(seed, weeks), "summaries": summary_table(seed),
              "response_draws": response_table(seed)}
    for table, data in tables.items():
        pq.write_table(data, path / TABLE_FILE[table])
    return Run(run_id, brand, path, rows={t: d.num_rows for t, d in tables.items()},
               contribution_sum=float(pc_sum(tables["contributions"])))


def pc_sum(table: pa.Table) -> float:
    return float(np.sum(table.column("contribution").to_numpy()))


def rewrite_contributions(run: Run, seed: int, weeks: int = 15) -> None:
    """Replace the run's contributions.parquet with different data (and update the Run)."""
    data = contributions_table(seed, weeks)
    pq.write_table(data, run.path / "contributions.parquet")
    run.rows["contributions"] = data.num_rows
    run.contribution_sum = pc_sum(data)


@pytest.fixture
def make_runs(tmp_path):
    """``make_runs(n, start=0, brand=..., root=...)``: n run folders in a local folder."""
    counter = {"seed": 0}

    def make(n: int, start: int = 0, brands=("acme", "globex"), root: Path | None = None, salt: str = "") -> list[Run]:
        root = Path(root or tmp_path / "runs")
        runs = []
        for i in range(start, start + n):
            counter["seed"] += 1
            runs.append(write_run(root, make_run_id(i, salt), brand=brands[i % len(brands)], seed=counter["seed"] * 10))
        return runs

    return make


@pytest.fixture
def s3_runs(s3, bucket, make_runs):
    """``s3_runs(n, start=0, prefix='runs')``: write n run folders locally and upload them under the prefix."""

    def make(n: int, start: int = 0, prefix: str = "runs", **kw) -> list[Run]:
        runs = make_runs(n, start=start, **kw)
        for run in runs:
            upload_folder(s3, bucket, prefix, run.path)
        return runs

    return make


# ---------------------------------------------------------------------------------------- snapshots


def open_store(path: Path):
    """A private, read-only view of the store file (its own DuckDB instance, never a cached one)."""
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS store (READ_ONLY)")
    con.execute("USE store")
    return con


def snapshot(path: Path) -> dict:
    """Everything a sync decides, without timestamps: runs, per-run row counts and sums, gold tables, state."""
    con = open_store(path)
    try:
        out = {
            "runs": con.execute("SELECT run_id, brand, status, train_mape, max_rhat, config_yaml IS NOT NULL "
                                "FROM runs ORDER BY run_id").fetchall(),
            "contributions": con.execute("SELECT run_id, brand, count(*), sum(contribution) FROM contributions "
                                         "GROUP BY ALL ORDER BY run_id").fetchall(),
            "summaries": con.execute("SELECT run_id, count(*), round(sum(spend), 3) FROM summaries "
                                     "GROUP BY ALL ORDER BY run_id").fetchall(),
            "response_draws": con.execute("SELECT run_id, count(*), round(sum(value), 6) FROM response_draws "
                                          "GROUP BY ALL ORDER BY run_id").fetchall(),
            "gold_tables": con.execute("SELECT name, format, rows FROM gold_tables ORDER BY name").fetchall(),
            "sync_state": con.execute("SELECT source, item, kind, signature, rows, bytes FROM sync_state "
                                      "ORDER BY ALL").fetchall(),
        }
        out["gold"] = {name: con.execute(f'SELECT count(*) FROM gold."{name}"').fetchone()[0]
                       for (name, _, _) in out["gold_tables"]}
        return out
    finally:
        con.close()


def file_identity(path: Path) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_ino, st.st_mtime_ns, st.st_size


# -------------------------------------------------------------------------------------------- proxy


class S3Proxy(LocalHTTPProxy):
    """An HTTP proxy thread in front of moto that logs requests and injects faults.

    ``fail_first``: answer the first N requests with ``fail_status``; ``fail_always``: every request;
    ``fail_when(method, path)``: the requests it is true for; ``delay``: sleep that long before answering
    (longer than the client's read timeout = a timeout).
    """

    handler_timeout = 15

    def __init__(self, target: str):
        self.log: list[tuple[str, str, int]] = []
        self.fail_first = 0
        self.fail_always = False
        self.fail_when = None
        self.fail_status = 500
        self.delay = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._seen = 0
        super().__init__(target)

    # requests seen, by kind
    def object_gets(self) -> list[str]:
        """Paths (bucket/key) of GET requests for objects (not bucket listings)."""
        return [p for m, p, _ in self.log if m == "GET" and "/" in p.split("?")[0].strip("/")]

    def object_requests(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p, _ in self.log if "/" in p.split("?")[0].strip("/")]

    def reset(self) -> None:
        with self._lock:
            self.log.clear()

    def _serve(self, h: http.server.BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        with self._lock:
            self._seen += 1
            fail = (self.fail_always or self._seen <= self.fail_first
                    or (self.fail_when is not None and self.fail_when(h.command, h.path)))
            status = self.fail_status if fail else 0
            self.log.append((h.command, h.path, status or 200))
        if self.delay:
            self._stop.wait(self.delay)
        if fail:
            code = "InternalError" if status == 500 else "ServiceUnavailable"
            payload = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
                       f"<Message>injected fault</Message></Error>").encode()
            h.send_response(status)
            h.send_header("Content-Type", "application/xml")
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            if h.command != "HEAD":
                h.wfile.write(payload)
            return
        status, reason, headers, data = self.forward(h, body)
        h.send_response(status, reason)
        for k, v in headers:
            if k.lower() not in self.HOP:
                h.send_header(k, v)
        if h.command == "HEAD":
            h.send_header("Content-Length", dict((k.lower(), v) for k, v in headers).get("content-length", "0"))
        else:
            h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)

    def close(self) -> None:
        self._stop.set()
        super().close()


@pytest.fixture
def s3_proxy(moto_endpoint):
    """``s3_proxy(**faults)``: a fresh proxy in front of moto; closed at teardown."""
    proxies = []

    def make(**faults) -> S3Proxy:
        p = S3Proxy(moto_endpoint)
        for k, v in faults.items():
            setattr(p, k, v)
        proxies.append(p)
        return p

    yield make
    for p in proxies:
        p.close()


@pytest.fixture
def subprocess_env(tmp_path, tmp_path_factory) -> dict:
    """Environment for a ``python -c`` sync in a child process (repo importable, own TMPDIR).

    Children cache their bytecode under the session's temp folder (never in the venv), so only the
    first one pays for compiling duckdb/pyarrow/boto3 where PYTHONDONTWRITEBYTECODE is set."""
    tmpdir = tmp_path / "child-tmp"
    tmpdir.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.getbasetemp() / "child-pycache")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env["TMPDIR"] = str(tmpdir)
    env["TQDM_DISABLE"] = "1"
    return env
