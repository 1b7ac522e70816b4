"""Fixtures for the jobs tests: a real MLflow tracking server on localhost."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

# `mlflow server` imports MLflow twice (the CLI, then its uvicorn worker) and migrates a fresh
# database: about 40 s on a busy 2-core machine.
SERVER_START_TIMEOUT_S = 120


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URI (``http://127.0.0.1:PORT``) of an ``mlflow server`` that lives for the test session.

    Backend store: sqlite in a temporary folder; artifacts are proxied (``--serve-artifacts``) to
    another temporary folder. The server's own process group is killed at teardown.
    """
    root = tmp_path_factory.mktemp("mlflow_server")
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING_")}
    env.update(
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",  # no huey job consumers: faster, fewer processes
        MLFLOW_DISABLE_TELEMETRY="true",
    )
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--workers", "1",
        "--backend-store-uri", f"sqlite:///{(root / 'mlflow.db').as_posix()}",
        "--serve-artifacts",
        "--artifacts-destination", (root / "artifacts").as_uri(),
    ]  # fmt: skip
    log = (root / "server.log").open("wb")
    process = subprocess.Popen(
        command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"mlflow server exited ({process.returncode}):\n{_tail(root / 'server.log')}")
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"mlflow server not healthy after {SERVER_START_TIMEOUT_S} s:\n{_tail(root / 'server.log')}"
                )
            time.sleep(0.5)
        yield uri
    finally:
        _stop(process)
        log.close()


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the server's process group (the CLI and its uvicorn worker), SIGKILL if it lingers."""
    for sig, wait_s in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait_s)
            # The CLI may be gone while its worker still shuts down; one more look at the group.
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        except subprocess.TimeoutExpired:
            continue
        time.sleep(1)


def _tail(path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="module")
def tables():
    """The bundled demo run's response draws and contributions, as ``pd.read_parquet`` gives them."""
    import pandas as pd

    from store.paths import BUNDLED_DEMO_RUNS

    run = next(p for p in BUNDLED_DEMO_RUNS.iterdir() if p.is_dir())
    return pd.read_parquet(run / "response.parquet"), pd.read_parquet(run / "contributions.parquet")


@pytest.fixture(scope="module")
def engine(tables):
    """The bundled demo run's response engine."""
    from jobs.response_engine import ResponseEngine

    return ResponseEngine(*tables)
