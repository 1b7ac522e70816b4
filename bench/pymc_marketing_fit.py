"""Anchor side of the fit benchmark: fit pymc-marketing's MMM on a dataset folder.

The dataset folder follows ``docs/data-contract.md`` (``training.csv`` or
``training.parquet`` plus ``taxonomy.csv``). Only pandas/numpy are used to read it,
so this module does not depend on the ``jobs`` package.

Model (pymc-marketing 1.3, ``pymc_marketing.mmm.MMM``, identity link):
GeometricAdstock(l_max) -> HillSaturation() with pymc-marketing's default priors,
yearly Fourier seasonality, the non-media taxonomy variables as ``control_columns``
and each media variable's signal column (``{variable}_spend`` or
``{variable}_impressions``) as a channel column; sampled with nutpie.

Usage::

    python bench/pymc_marketing_fit.py DATASET_DIR [--chains 2 --draws 500 --tune 500]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import time
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd

MEDIA_KIND = "media"
NON_MEDIA_KINDS = ("control", "holiday", "owned", "earned")
DATE_COLUMN = "date"


def _read_dataset(dataset_dir: Path, target: str) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """Read training data and taxonomy.

    Returns the training frame (sorted by date, date as datetime64), a mapping
    ``{channel column: media variable}`` in taxonomy order, and the control columns.
    """
    csv, parquet = dataset_dir / "training.csv", dataset_dir / "training.parquet"
    if csv.exists():
        df = pd.read_csv(csv)
    elif parquet.exists():
        df = pd.read_parquet(parquet)
    else:
        raise FileNotFoundError(f"no training.csv or training.parquet in {dataset_dir}")
    tax = pd.read_csv(dataset_dir / "taxonomy.csv", dtype=str, keep_default_na=False)

    if "audience" in df.columns and df["audience"].nunique() > 1:
        raise NotImplementedError(
            "segmented datasets (several audiences) are not supported by this benchmark"
        )
    if target not in df.columns:
        raise ValueError(f"target column {target!r} not in training data")

    channel_to_var: dict[str, str] = {}
    controls: list[str] = []
    for row in tax.itertuples(index=False):
        kind = row.kind.strip().lower()
        if kind == MEDIA_KIND:
            signal = (row.signal.strip().lower() or "spend")
            col = f"{row.variable}_{signal}"
            if col not in df.columns:
                raise ValueError(f"media variable {row.variable!r}: column {col!r} missing")
            if float(pd.to_numeric(df[col]).abs().sum()) == 0.0:
                warnings.warn(f"media variable {row.variable!r} has no {signal}; dropped")
                continue
            channel_to_var[col] = row.variable
        elif kind in NON_MEDIA_KINDS:
            if row.variable not in df.columns:
                raise ValueError(f"{kind} variable {row.variable!r}: column missing")
            controls.append(row.variable)
        else:
            raise ValueError(f"unknown taxonomy kind {row.kind!r} for {row.variable!r}")
    if not channel_to_var:
        raise ValueError("no media variable with a signal")

    df = df.copy()
    df[DATE_COLUMN] = pd.to_datetime(df[DATE_COLUMN])
    df = df.sort_values(DATE_COLUMN).reset_index(drop=True)
    cols = [DATE_COLUMN, *channel_to_var, *controls, target]
    df = df[cols]
    for c in cols[1:]:
        df[c] = pd.to_numeric(df[c]).astype(float)
    return df, channel_to_var, controls


@contextlib.contextmanager
def _quiet_compute_deterministics():
    """pymc-marketing's fit recomputes deterministics after nutpie with
    ``pm.compute_deterministics(idata, extend_dataset=True)`` and no way to pass
    ``progressbar=False``; switch that bar off for the duration of the fit."""
    import pymc as pm

    original = pm.compute_deterministics
    with mock.patch.object(
        pm, "compute_deterministics", functools.partial(original, progressbar=False)
    ):
        yield


def fit_pymc_marketing(
    dataset_dir: str | Path,
    *,
    chains: int = 2,
    draws: int = 500,
    tune: int = 500,
    seed: int = 0,
    l_max: int = 8,
    yearly_seasonality: int = 2,
    target: str = "total_transactions",
) -> dict:
    """Fit pymc-marketing's MMM on ``dataset_dir`` and return benchmark figures.

    Returns a dict with ``wall_s`` (MMM construction + build + compile + sampling +
    pymc-marketing's post-processing, i.e. until ``fit`` returns), ``min_ess_bulk``,
    ``max_rhat`` (over all free parameters), ``divergences`` (total) and
    ``contributions``: a DataFrame with one row per posterior draw (chain-major,
    ``chains * draws`` rows) and one column per media variable, holding that
    variable's total contribution over the training weeks in original target units.
    Extra keys: ``idata`` (the fitted DataTree), ``mmm`` (the model object),
    ``timing`` (``build_s``: MMM construction + ``build_model``; ``sampling_s``:
    nutpie's sampling time; the rest of ``wall_s`` is mostly nutpie's numba
    compilation and the deterministics recompute), ``check`` (posterior-mean
    decomposition vs observed target).
    """
    import arviz as az
    from pymc_marketing.mmm import MMM, GeometricAdstock, HillSaturation

    dataset_dir = Path(dataset_dir)
    df, channel_to_var, controls = _read_dataset(dataset_dir, target)
    channel_cols = list(channel_to_var)
    X = df.drop(columns=[target])
    y = df[target]

    # Quieten pymc / pymc-marketing; progress bars are switched off in fit().
    for name in ("pymc", "pymc.sampling", "pymc.stats.convergence", "pymc_marketing"):
        logging.getLogger(name).setLevel(logging.ERROR)

    with warnings.catch_warnings(), _quiet_compute_deterministics():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        mmm = MMM(
            date_column=DATE_COLUMN,
            channel_columns=channel_cols,
            target_column=target,
            control_columns=controls or None,  # pydantic: an empty list is rejected
            adstock=GeometricAdstock(l_max=l_max),
            saturation=HillSaturation(),
            yearly_seasonality=yearly_seasonality or None,
        )
        # fit() would build the model itself; building first only lets us time it.
        mmm.build_model(X, y)
        build_s = time.perf_counter() - t0
        idata = mmm.fit(
            X,
            y,
            progressbar=False,
            random_seed=seed,
            nuts_sampler="nutpie",
            chains=chains,
            draws=draws,
            tune=tune,
        )
        wall_s = time.perf_counter() - t0

    # Convergence over the free parameters only (deterministics excluded).
    free = [rv.name for rv in mmm.model.free_RVs]
    ess = az.ess(idata, var_names=free, method="bulk")
    rhat = az.rhat(idata, var_names=free)
    min_ess_bulk = float(min(float(ess[v].min()) for v in ess.data_vars))
    max_rhat = float(max(float(rhat[v].max()) for v in rhat.data_vars))
    divergences = int(idata["sample_stats"]["diverging"].sum())

    # Per-channel totals over the training weeks, original target units.
    # get_contributions multiplies channel_contribution by target_scale (identity link).
    contrib = mmm.data.get_contributions(original_scale=True, period="all_time")
    ch = contrib["channels"].transpose("chain", "draw", "channel")
    n_chain, n_draw = ch.sizes["chain"], ch.sizes["draw"]
    values = ch.values.reshape(n_chain * n_draw, ch.sizes["channel"])
    contributions = pd.DataFrame(
        values,
        columns=[channel_to_var[str(c)] for c in ch["channel"].values],
        index=pd.MultiIndex.from_product(
            [ch["chain"].values, ch["draw"].values], names=["chain", "draw"]
        ),
    )[[channel_to_var[c] for c in channel_cols]]

    # Sanity check on the scale: posterior mean of the full decomposition
    # (channels + baseline + controls + seasonality) against the observed total.
    parts = {
        k: float(v.mean(("chain", "draw")).sum()) for k, v in contrib.data_vars.items()
    }
    check = {
        "observed_total": float(y.sum()),
        "decomposition_total": float(sum(parts.values())),
        "parts": parts,
    }

    # nutpie's own sampling time (excludes numba compilation of the model).
    sampling_s = idata["posterior"].attrs.get("sampling_time")
    timing = {
        "build_s": float(build_s),
        "sampling_s": float(sampling_s) if sampling_s is not None else None,
    }

    return {
        "wall_s": float(wall_s),
        "min_ess_bulk": min_ess_bulk,
        "max_rhat": max_rhat,
        "divergences": divergences,
        "contributions": contributions,
        "timing": timing,
        "check": check,
        "idata": idata,
        "mmm": mmm,
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dataset_dir")
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--draws", type=int, default=500)
    p.add_argument("--tune", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--l-max", type=int, default=8)
    p.add_argument("--yearly-seasonality", type=int, default=2)
    p.add_argument("--target", default="total_transactions")
    a = p.parse_args(argv)
    res = fit_pymc_marketing(
        a.dataset_dir,
        chains=a.chains,
        draws=a.draws,
        tune=a.tune,
        seed=a.seed,
        l_max=a.l_max,
        yearly_seasonality=a.yearly_seasonality,
        target=a.target,
    )
    out = {k: v for k, v in res.items() if k not in ("contributions", "idata", "mmm")}
    out["contributions_mean"] = res["contributions"].mean().to_dict()
    out["contributions_shape"] = res["contributions"].shape
    for k, v in out.items():
        print(f"{k}: {v}")


if __name__ == "__main__":
    main()
