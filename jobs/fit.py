"""Compile the model once per structure and sample it with nutpie; diagnostics of the draws."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np

from jobs.config import ModelConfig
from jobs.design import ModelData

ProgressCallback = Callable[[float, int], None]  # (fraction done, divergences so far)

_compiled: dict[tuple, object] = {}
_compile_lock = threading.Lock()


@dataclass
class Fit:
    data: ModelData
    trace: object  # arviz DataTree from nutpie
    params: dict[str, np.ndarray]  # free parameters, draws flattened: (D, ...)
    diagnostics: dict[str, float]
    seconds: float


def compiled_model(d: ModelData, cfg: ModelConfig):
    """The nutpie-compiled model for this structure, compiled on first use, with ``d``'s data."""
    import nutpie

    from jobs.model import build_model, data_values, shape_key

    key = shape_key(d, cfg)
    with _compile_lock:
        if key not in _compiled:
            _compiled[key] = nutpie.compile_pymc_model(build_model(d, cfg))
        base = _compiled[key]
    values = data_values(d)
    return base.with_data(**{k: v for k, v in values.items() if k in base.shared_data})


def sample(d: ModelData, cfg: ModelConfig, progress: ProgressCallback | None = None, progress_bar: bool = True) -> Fit:
    """Draw from the posterior of one series."""
    import time

    import nutpie

    t0 = time.perf_counter()
    model = compiled_model(d, cfg)
    s = cfg.sampler
    callback = None
    if progress is not None:
        def callback(chains):
            total = sum(c.total_draws for c in chains) or 1
            progress(sum(c.finished_draws for c in chains) / total, sum(c.divergences for c in chains))
    trace = nutpie.sample(
        model,
        draws=s.draws,
        tune=s.tune,
        chains=s.chains,
        cores=s.cores or min(s.chains, os.cpu_count() or 1),
        seed=s.seed,
        target_accept=s.target_accept,
        adaptation=s.adaptation,
        progress_bar=progress_bar,
        progress_callback=callback,
        save_warmup=False,
    )
    seconds = time.perf_counter() - t0
    trace = _relabel(trace, d)
    post = trace["posterior"]
    names = [n for n in ("intercept", "trend", "seasonality", "coefficient", "adstock_decay", "half_saturation",
                         "hill_slope", "saturation_lambda", "cost_per_transaction", "sigma") if n in post]
    raw = {n: np.asarray(post[n].values) for n in names}
    params = {n: a.reshape((-1,) + a.shape[2:]) for n, a in raw.items()}
    diverging = np.asarray(trace["sample_stats"]["diverging"].values)
    return Fit(d, trace, params, diagnostics(raw, int(diverging.sum())), seconds)


def _relabel(trace, d: ModelData):
    """A compiled model reused for another series keeps its first coords: put this series' names back."""
    labels = {"media": d.media, "other": d.others, "fourier_term": d.fourier_names}
    for group in ("posterior",):
        ds = trace[group].to_dataset()
        ds = ds.assign_coords({k: v for k, v in labels.items() if k in ds.dims})
        trace[group] = ds
    return trace


def diagnostics(raw: dict[str, np.ndarray], divergences: int) -> dict[str, float]:
    """Max rank-normalised R-hat and min bulk ESS over every free parameter, and divergences."""
    import arviz as az

    rhat, ess = [], []
    for a in raw.values():
        flat = a.reshape(a.shape[:2] + (-1,))
        if flat.shape[2] == 0:
            continue
        rhat.append(np.atleast_1d(az.rhat(flat)))
        ess.append(np.atleast_1d(az.ess(flat, method="bulk")))
    r = np.concatenate(rhat) if rhat else np.array([np.nan])
    e = np.concatenate(ess) if ess else np.array([np.nan])
    return {"max_rhat": float(np.nanmax(r)), "min_ess_bulk": float(np.nanmin(e)), "divergences": int(divergences)}
