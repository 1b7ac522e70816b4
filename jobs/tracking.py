"""Logging finished run folders to MLflow: params, metrics, tags and every file, once per run."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from jobs.paths import data_dir

#: The tag that ties an MLflow run to its run folder; it makes :func:`log_run` idempotent.
RUN_ID_TAG = "artemis.run_id"
#: Where the run folder's files go in the MLflow run's artifacts.
ARTIFACT_PATH = "run"

# MLflow 3.x limits (mlflow.utils.validation): longer param values are truncated, longer keys refused.
_MAX_PARAM_VALUE = 6000
_MAX_KEY = 250
_MAX_TAG_VALUE = 8000
# Characters MLflow accepts in param and metric names on every platform ('/' is left out: it would
# make a name look like a path).
_BAD_KEY_CHARS = re.compile(r"[^\w.\- ]")

# Settings that make a vanished server fail in seconds, not after MLflow's default 7 retries with
# exponential backoff and 120 s timeouts (minutes). Values the user has set are left alone.
_FAST_HTTP_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}
_env_lock = threading.Lock()
_env_users = 0
_env_set_here: list[str] = []


class TrackingUnavailable(Exception):
    """The MLflow tracking store could not be reached; the run folder is untouched and can be logged later."""

    def __init__(self, uri: str, reason: str, run_dir: str | Path | None = None):
        self.uri = uri
        self.reason = reason
        self.run_dir = run_dir
        folder = shlex.quote(str(run_dir)) if run_dir is not None else "RUN_FOLDER"
        super().__init__(
            f"MLflow tracking at {uri} could not be reached ({reason}). The run folder is complete "
            f"and unchanged; log it later with: artemis log {folder} --tracking-uri {shlex.quote(uri)}"
        )


def default_tracking_uri() -> str:
    """``sqlite:///<data dir>/mlflow.db``, the data dir being ``$ARTEMIS_DATA_DIR`` or the user data dir.

    The folder is created if missing.
    """
    folder = data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return "sqlite:///" + (folder / "mlflow.db").as_posix()


def check_reachable(uri: str, timeout: float = 3.0) -> None:
    """Raise :class:`TrackingUnavailable` unless the tracking store at ``uri`` can be used.

    ``http(s)://`` URIs: ``GET {uri}/health`` must answer within ``timeout`` seconds with a status
    below 500 (a 401 or 403 is a server that is there but wants credentials; MLflow reports that
    itself). ``sqlite:`` and ``file:`` URIs (or a plain path): the folder that holds the database or
    store must exist or be creatable. Other schemes are not checked.
    """
    scheme = urllib.parse.urlparse(uri).scheme.lower()
    if scheme in ("http", "https"):
        health = uri.rstrip("/") + "/health"
        try:
            with urllib.request.urlopen(health, timeout=timeout) as response:  # noqa: S310 (http(s) only)
                response.read(64)
        except urllib.error.HTTPError as error:
            if error.code >= 500:
                raise TrackingUnavailable(uri, f"GET {health} answered HTTP {error.code}") from error
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", None) or error
            raise TrackingUnavailable(uri, f"GET {health} failed: {reason}") from error
        return
    local = _local_store_path(uri)
    if local is None:
        return
    try:
        local.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TrackingUnavailable(uri, f"cannot create folder {local.parent}: {error}") from error


def log_run(run_dir: str | Path, tracking_uri: str | None = None, experiment: str = "artemis") -> str:
    """Log a finished run folder to MLflow and return the MLflow run id.

    Parameters
    ----------
    run_dir : str or Path
        A complete, local run folder (see ``docs/data-contract.md``). It is only read.
    tracking_uri : str, optional
        MLflow tracking URI; defaults to ``$MLFLOW_TRACKING_URI``, else :func:`default_tracking_uri`.
    experiment : str
        MLflow experiment, created if missing.

    Returns
    -------
    str
        The MLflow run id. If the experiment already has a finished run tagged
        ``artemis.run_id`` with this run's id, that run's id is returned and nothing is logged.

    Raises
    ------
    TrackingUnavailable
        The tracking store cannot be reached, before or while logging.
    FileNotFoundError, ValueError
        ``run_dir`` is not a run folder.

    Notes
    -----
    What is logged: run name = run id; params = the flattened config (``a.b.c`` keys, string
    values truncated to MLflow's limit) plus ``artemis.brand``, ``artemis.dataset_fingerprint`` and
    ``artemis.code_version``; metrics = every number of ``metrics.json``, nested keys joined with
    ``_`` (``train_mape``); tags ``artemis.run_id``, ``artemis.brand``, ``artemis.status``,
    ``artemis.audience``; artifacts = every file of the folder under ``run/``.
    """
    folder, manifest, config, metrics = _read_run_folder(run_dir)
    run_id = str(manifest["run_id"])
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri()
    try:
        check_reachable(uri)
    except TrackingUnavailable as error:
        raise TrackingUnavailable(uri, error.reason, folder) from error.__cause__

    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    with _fast_http():
        try:
            client = MlflowClient(tracking_uri=uri)
            experiment_id = _experiment_id(client, experiment, uri)
            logged = client.search_runs(
                [experiment_id], filter_string=f"tags.`{RUN_ID_TAG}` = {_quote(run_id)}"
            )
            finished = [r for r in logged if r.info.status == "FINISHED"]
            if finished:
                return finished[0].info.run_id
            for stale in logged:  # a failed or interrupted earlier attempt
                client.delete_run(stale.info.run_id)

            run = client.create_run(
                experiment_id,
                start_time=_millis(manifest, "created_at", "created"),
                tags=_tags(manifest),
                run_name=run_id,
            )
            mlflow_run_id = run.info.run_id
            try:
                now = _millis(manifest, "finished_at", "finished") or int(time.time() * 1000)
                client.log_batch(
                    mlflow_run_id,
                    metrics=[Metric(k, v, now, 0) for k, v in _metrics(metrics).items()],
                    params=[Param(k, v) for k, v in _params(config, manifest).items()],
                )
                client.log_artifacts(mlflow_run_id, str(folder), artifact_path=ARTIFACT_PATH)
                client.set_terminated(mlflow_run_id, "FINISHED", end_time=_millis(manifest, "finished_at", "finished"))
            except BaseException:
                with contextlib.suppress(Exception):  # leave no half-logged run behind if we can
                    client.set_terminated(mlflow_run_id, "FAILED")
                    client.delete_run(mlflow_run_id)
                raise
            return mlflow_run_id
        except Exception as error:
            if _is_connection_error(error):
                raise TrackingUnavailable(uri, _first_line(error), folder) from error
            raise


# --- reading the run folder -------------------------------------------------------------------


def _read_run_folder(run_dir: str | Path) -> tuple[Path, dict, dict, dict]:
    if isinstance(run_dir, str) and "://" in run_dir:
        raise ValueError(f"log_run reads a local run folder; copy {run_dir} to disk first")
    folder = Path(run_dir).expanduser().resolve()
    manifest_file = folder / "manifest.json"
    if not manifest_file.is_file():
        raise FileNotFoundError(f"{folder} is not a run folder: no manifest.json")
    manifest = json.loads(manifest_file.read_text())
    if not isinstance(manifest, dict) or not manifest.get("run_id"):
        raise ValueError(f"{manifest_file} has no run_id")
    config_file = folder / "config.yaml"
    if config_file.is_file():
        config = yaml.safe_load(config_file.read_text()) or {}
    else:
        config = manifest.get("config") or {}
    metrics_file = folder / "metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    return folder, manifest, config if isinstance(config, dict) else {"config": config}, metrics


def _manifest_value(manifest: Mapping[str, Any], *keys: str) -> Any:
    """First present of ``keys``; a dotted key reads a nested dict (``dataset.fingerprint``)."""
    for key in keys:
        value: Any = manifest
        for part in key.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if value not in (None, ""):
            return value
    return None


def _millis(manifest: Mapping[str, Any], *keys: str) -> int | None:
    value = _manifest_value(manifest, *keys)
    if not isinstance(value, str):
        return None
    try:
        return int(datetime.fromisoformat(value).timestamp() * 1000)
    except ValueError:
        return None


# --- what is logged ---------------------------------------------------------------------------


def _params(config: Mapping[str, Any], manifest: Mapping[str, Any]) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in _flatten(config, "."):
        params.setdefault(_key(key), _param_value(value))
    extras = {
        "artemis.brand": _manifest_value(manifest, "brand"),
        "artemis.dataset_fingerprint": _manifest_value(
            manifest, "dataset_fingerprint", "dataset.fingerprint", "fingerprint"
        ),
        "artemis.code_version": _manifest_value(manifest, "code_version", "code.version", "version"),
    }
    for key, value in extras.items():
        if value is not None:
            params[key] = _param_value(value)
    return params


def _metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in _flatten(metrics, "_"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out.setdefault(_key(key), float(value))
    return out


def _tags(manifest: Mapping[str, Any]) -> dict[str, str]:
    tags = {
        RUN_ID_TAG: manifest["run_id"],
        "artemis.brand": _manifest_value(manifest, "brand"),
        "artemis.status": _manifest_value(manifest, "status"),
        "artemis.audience": _manifest_value(manifest, "audience", "audiences"),
    }
    out = {}
    for key, value in tags.items():
        if value is None or value == []:
            continue
        text = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
        out[key] = text[:_MAX_TAG_VALUE]
    return out


def _flatten(tree: Any, sep: str, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(joined key, leaf) pairs of nested dicts; lists and empty dicts are leaves."""
    if isinstance(tree, Mapping) and (tree or not prefix):
        for key, value in tree.items():
            yield from _flatten(value, sep, f"{prefix}{sep}{key}" if prefix else str(key))
    else:
        yield prefix, tree


def _key(key: str) -> str:
    return _BAD_KEY_CHARS.sub("_", key)[:_MAX_KEY]


def _param_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:_MAX_PARAM_VALUE]


# --- MLflow plumbing --------------------------------------------------------------------------


def _experiment_id(client: Any, name: str, uri: str) -> str:
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is None:
        try:
            return client.create_experiment(name, artifact_location=_artifact_location(uri))
        except MlflowException as error:  # created by a concurrent caller meanwhile
            found = client.get_experiment_by_name(name)
            if found is None:
                raise error
    if found.lifecycle_stage == "deleted":
        client.restore_experiment(found.experiment_id)
    return found.experiment_id


def _artifact_location(uri: str) -> str | None:
    """Artifacts of a local store go next to it (MLflow's own default is ``./mlruns`` in the cwd)."""
    local = _local_store_path(uri)
    if local is None:
        return None  # a server decides
    base = local.parent if urllib.parse.urlparse(uri).scheme.lower() == "sqlite" else local
    return (base / "mlartifacts").resolve().as_uri()


def _local_store_path(uri: str) -> Path | None:
    """The database file (``sqlite:``) or store folder (``file:``, plain path); None for other schemes."""
    parsed = urllib.parse.urlparse(uri)
    scheme = parsed.scheme.lower()
    if scheme == "sqlite":
        path = uri.split(":///", 1)[1] if ":///" in uri else ""
        path = path.split("?", 1)[0]
        if not path or path == ":memory:":
            return None
        return Path(path).expanduser()
    if scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path)).expanduser()
    if scheme == "" or (len(scheme) == 1 and os.name == "nt"):  # a plain path (or a Windows drive)
        return Path(uri).expanduser()
    return None


@contextlib.contextmanager
def _fast_http() -> Iterator[None]:
    """Short MLflow HTTP retries and timeouts for the duration, safe with concurrent callers.

    The environment is process-wide: the first caller in sets the values the user has not set,
    the last one out restores them.
    """
    global _env_users
    with _env_lock:
        if _env_users == 0:
            for name, value in _FAST_HTTP_ENV.items():
                if name not in os.environ:
                    _env_set_here.append(name)
                    os.environ[name] = value
        _env_users += 1
    try:
        yield
    finally:
        with _env_lock:
            _env_users -= 1
            if _env_users == 0:
                for name in _env_set_here:
                    os.environ.pop(name, None)
                _env_set_here.clear()


def _is_connection_error(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is a network failure rather than a refused request."""
    import requests

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError)):
            return True
        message = str(current)
        if message.startswith("API request to ") and " failed with " in message:
            return True
        current = current.__cause__ or current.__context__
    return False


def _quote(value: str) -> str:
    """A string literal for an MLflow search filter (which has no escapes)."""
    if "'" in value and '"' in value:
        raise ValueError(f"run id {value!r} cannot be searched for in MLflow")
    return f'"{value}"' if "'" in value else f"'{value}'"


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__
