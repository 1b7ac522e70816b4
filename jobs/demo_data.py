"""Generate a seeded synthetic QSR marketing-mix dataset with its ground truth, for demos and recovery tests."""

from __future__ import annotations

import datetime as dt
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from jobs.transforms import geometric_adstock, hill_saturation

L_MAX = 8
HISTORY_WEEKS = L_MAX - 1
TARGET = "total_transactions"
TAXONOMY_COLUMNS = ["variable", "kind", "channel", "channel_group", "pillar", "message_type", "signal"]
GROUND_TRUTH_COLUMNS = ["date", "audience", "variable", "kind", "contribution"]
DAYS_PER_YEAR = 365.25
EPOCH_DAYS_2000 = 10957  # 2000-01-01 in days since 1970-01-01
CONTROL_NAMES = ("avg_temperature_f", "precipitation_in", "menu_price_index", "competitor_spend")


@dataclass(frozen=True)
class MediaSpec:
    """One media variable of a brand preset; ``name`` is ``{channel}_{message_type}``."""

    channel: str
    message_type: str
    channel_group: str
    pillar: str
    pattern: str  # "flight", "always_on", "quarterly_burst", "lto", "sparse_lto"
    spend: tuple[float, float]  # weekly US dollars while on
    cpm: float  # US dollars per thousand impressions
    cpit: tuple[float, float]  # true cost per incremental transaction, before calibration
    alpha: tuple[float, float]  # adstock retention
    signal: str = "spend"

    @property
    def name(self) -> str:
        return f"{self.channel}_{self.message_type}"


@dataclass(frozen=True)
class BrandPreset:
    """Everything that makes one demo brand: size, trend, media plan and true effects."""

    brand_id: str
    display_name: str
    base_level: float  # national weekly transactions at the start (baseline)
    trend: tuple[float, float]  # growth of the baseline over the whole series
    season_amplitude: tuple[float, float]  # yearly seasonality as a fraction of the level
    season_peak_doy: int  # day of year where traffic peaks
    noise_pct: tuple[float, float]  # noise sd as a fraction of the mean expected transactions
    media_share: tuple[float, float]  # true share of transactions driven by media (calibrated exactly)
    lto_per_year: int
    competitor_spend: tuple[float, float]  # weekly US dollars while the competitor is on air
    media: tuple[MediaSpec, ...]
    # Effects as fractions of the baseline level: controls per standard deviation, holidays for the
    # holiday week, owned for the series maximum.
    control_effects: dict[str, tuple[float, float]] = field(default_factory=dict)
    holiday_effects: dict[str, tuple[float, float]] = field(default_factory=dict)
    owned_effects: dict[str, tuple[float, float]] = field(default_factory=dict)


_TV, _DIGITAL, _AUDIO, _OOH = "TV", "Digital", "Audio", "OOH"
_AWARE, _CONSID, _CONV = "Awareness", "Consideration", "Conversion"

BRANDS: dict[str, BrandPreset] = {
    "artemis-burgers": BrandPreset(
        brand_id="artemis-burgers",
        display_name="Artemis Burgers",
        base_level=3_000_000.0,
        trend=(0.03, 0.08),
        season_amplitude=(0.05, 0.08),
        season_peak_doy=195,
        noise_pct=(0.02, 0.03),
        media_share=(0.18, 0.26),
        lto_per_year=4,
        competitor_spend=(1_500_000.0, 4_000_000.0),
        media=(
            MediaSpec("Linear TV", "Brand", _TV, _AWARE, "flight", (1_500_000, 3_000_000), 28.0, (6, 12), (0.45, 0.7)),
            MediaSpec("Linear TV", "Value", _TV, _CONSID, "flight", (1_000_000, 2_500_000), 26.0, (5, 10), (0.35, 0.6)),
            MediaSpec("Linear TV", "Product", _TV, _CONSID, "lto", (1_500_000, 3_000_000), 27.0, (5, 11), (0.3, 0.55)),
            MediaSpec("CTV", "Brand", _TV, _AWARE, "flight", (300_000, 700_000), 35.0, (7, 14), (0.35, 0.6), "impressions"),
            MediaSpec("Paid Social", "Value", _DIGITAL, _CONSID, "always_on", (350_000, 700_000), 9.0, (4.5, 9), (0.15, 0.4)),
            MediaSpec("Paid Social", "Product", _DIGITAL, _CONSID, "lto", (200_000, 500_000), 9.5, (5, 10), (0.15, 0.35)),
            MediaSpec("Paid Search", "Brand", _DIGITAL, _CONV, "always_on", (150_000, 300_000), 32.0, (3.5, 7), (0.1, 0.25)),
            MediaSpec("Paid Search", "Value", _DIGITAL, _CONV, "always_on", (120_000, 250_000), 30.0, (4, 8), (0.1, 0.25)),
            MediaSpec("Online Video", "Brand", _DIGITAL, _AWARE, "flight", (200_000, 500_000), 18.0, (8, 16), (0.3, 0.55), "impressions"),
            MediaSpec("Audio", "Value", _AUDIO, _CONSID, "flight", (200_000, 450_000), 12.0, (8, 18), (0.25, 0.5)),
            MediaSpec("OOH", "Brand", _OOH, _AWARE, "quarterly_burst", (400_000, 900_000), 6.0, (12, 25), (0.4, 0.65)),
            MediaSpec("Display", "Product", _DIGITAL, _CONV, "sparse_lto", (100_000, 250_000), 4.5, (10, 22), (0.1, 0.3)),
        ),
        control_effects={
            "avg_temperature_f": (0.008, 0.015),
            "precipitation_in": (-0.012, -0.006),
            "menu_price_index": (-0.03, -0.018),
            "competitor_spend": (-0.02, -0.01),
        },
        holiday_effects={
            "super_bowl": (-0.04, -0.02),
            "july_4th": (0.02, 0.045),
            "thanksgiving": (-0.09, -0.06),
            "christmas": (-0.12, -0.08),
        },
        owned_effects={"app_push_sends": (0.012, 0.022)},
    ),
    "luna-tacos": BrandPreset(
        brand_id="luna-tacos",
        display_name="Luna Tacos",
        base_level=1_500_000.0,
        trend=(0.08, 0.15),
        season_amplitude=(0.05, 0.07),
        season_peak_doy=160,
        noise_pct=(0.02, 0.03),
        media_share=(0.2, 0.28),
        lto_per_year=5,
        competitor_spend=(800_000.0, 2_500_000.0),
        media=(
            MediaSpec("Linear TV", "Brand", _TV, _AWARE, "flight", (800_000, 1_800_000), 26.0, (6, 13), (0.4, 0.65)),
            MediaSpec("Linear TV", "Product", _TV, _CONSID, "lto", (900_000, 2_000_000), 25.0, (5, 10), (0.3, 0.5)),
            MediaSpec("CTV", "Value", _TV, _CONSID, "flight", (250_000, 600_000), 33.0, (6, 12), (0.3, 0.55), "impressions"),
            MediaSpec("Paid Social", "Brand", _DIGITAL, _AWARE, "always_on", (250_000, 500_000), 8.5, (5, 11), (0.2, 0.45), "impressions"),
            MediaSpec("Paid Social", "Value", _DIGITAL, _CONSID, "always_on", (200_000, 450_000), 9.0, (4, 9), (0.15, 0.35)),
            MediaSpec("Paid Social", "Product", _DIGITAL, _CONSID, "lto", (250_000, 600_000), 9.5, (4, 9), (0.15, 0.35)),
            MediaSpec("Paid Search", "Brand", _DIGITAL, _CONV, "always_on", (100_000, 220_000), 34.0, (3.5, 7), (0.1, 0.25)),
            MediaSpec("Online Video", "Product", _DIGITAL, _CONSID, "lto", (150_000, 400_000), 17.0, (7, 15), (0.25, 0.5)),
            MediaSpec("Audio", "Brand", _AUDIO, _AWARE, "flight", (120_000, 300_000), 11.0, (9, 20), (0.3, 0.55)),
            MediaSpec("OOH", "Value", _OOH, _AWARE, "quarterly_burst", (250_000, 600_000), 5.5, (12, 28), (0.4, 0.65)),
            MediaSpec("Display", "Value", _DIGITAL, _CONV, "sparse_lto", (60_000, 180_000), 4.0, (10, 24), (0.1, 0.3)),
        ),
        control_effects={
            "avg_temperature_f": (0.01, 0.02),
            "precipitation_in": (-0.015, -0.008),
            "menu_price_index": (-0.035, -0.02),
            "competitor_spend": (-0.025, -0.012),
        },
        holiday_effects={
            "super_bowl": (0.03, 0.06),
            "cinco_de_mayo": (0.06, 0.1),
            "national_taco_day": (0.04, 0.08),
            "thanksgiving": (-0.1, -0.07),
            "christmas": (-0.13, -0.09),
        },
        owned_effects={"app_push_sends": (0.015, 0.03)},
    ),
}


# --------------------------------------------------------------------------- calendar


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _holiday_dates(name: str, year: int) -> dt.date:
    if name == "super_bowl":  # first Sunday of February until 2021, second Sunday since 2022
        return _nth_weekday(year, 2, 6, 2 if year >= 2022 else 1)
    if name == "thanksgiving":  # fourth Thursday of November
        return _nth_weekday(year, 11, 3, 4)
    if name == "memorial_day":  # last Monday of May
        return _nth_weekday(year, 6, 0, 1) - dt.timedelta(days=7)
    fixed = {"christmas": (12, 25), "july_4th": (7, 4), "cinco_de_mayo": (5, 5), "national_taco_day": (10, 4)}
    if name in fixed:
        return dt.date(year, *fixed[name])
    raise ValueError(f"unknown holiday {name!r}")


def _holiday_flags(name: str, dates: pd.DatetimeIndex) -> np.ndarray:
    """1 for the Monday-start week that contains the holiday, else 0."""
    starts = dates.date
    flags = np.zeros(len(dates), dtype=np.int64)
    for year in range(starts[0].year - 1, starts[-1].year + 2):
        day = _holiday_dates(name, year)
        for i, s in enumerate(starts):
            if s <= day < s + dt.timedelta(days=7):
                flags[i] = 1
    return flags


def _fourier(dates: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """Yearly Fourier terms in days since 1970-01-01, the basis the model uses (``jobs/design.py``)."""
    days = (dates - pd.Timestamp("1970-01-01")).days.to_numpy(dtype=float)
    phase = 2.0 * np.pi * days / DAYS_PER_YEAR
    return {f"{f}_{k}": getattr(np, f)(k * phase) for k in (1, 2) for f in ("sin", "cos")}


# --------------------------------------------------------------------------- spend processes


def _windows_mask(n: int, starts: list[int], lengths: list[int]) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    for s, length in zip(starts, lengths):
        mask[max(s, 0) : max(s + length, 0)] = True
    return mask


def _lto_windows(rng: np.random.Generator, n: int, per_year: int) -> list[tuple[int, int]]:
    """Limited-time-offer pushes: ``per_year`` windows of 4-6 weeks, spread over each year."""
    windows = []
    gap = 52 / per_year
    for y in range(int(np.ceil(n / 52)) + 1):
        for i in range(per_year):
            start = int(round(y * 52 + i * gap + rng.uniform(0, gap - 6)))
            length = int(rng.integers(4, 7))
            if start < n:
                windows.append((start, length))
    return windows


def _flights(rng: np.random.Generator, n: int, on: tuple[int, int], off: tuple[int, int]) -> np.ndarray:
    """On/off flighting mask, starting at a random point of the cycle."""
    mask = np.zeros(n, dtype=bool)
    t = -int(rng.integers(0, on[1] + off[1]))
    state = bool(rng.integers(0, 2))
    while t < n:
        length = int(rng.integers(*(on if state else off)))
        if state:
            mask[max(t, 0) : max(t + length, 0)] = True
        t += length
        state = not state
    return mask


def _spend_series(
    rng: np.random.Generator,
    spec: MediaSpec,
    n: int,
    doy: np.ndarray,
    lto: list[tuple[int, int]],
    in_sample: slice,
) -> np.ndarray:
    lo, hi = spec.spend
    season = np.cos(2 * np.pi * (doy - 200) / DAYS_PER_YEAR)  # +1 mid-July, -1 mid-January
    jitter = np.exp(rng.normal(0.0, 0.1, n))
    lto_mask = _windows_mask(n, [s for s, _ in lto], [length for _, length in lto])
    if spec.pattern == "flight":
        mask = _flights(rng, n, on=(3, 9), off=(2, 7))
        levels = np.zeros(n)
        # one level per flight: constant within a flight up to the weekly jitter
        edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int)])) == 1)
        for e in edges:
            levels[e:] = rng.uniform(lo, hi)
        spend = np.where(mask, levels * jitter, 0.0)
    elif spec.pattern == "always_on":
        level = rng.uniform(lo, hi)
        amp = rng.uniform(0.1, 0.25)
        ar = np.zeros(n)
        eps = rng.normal(0.0, 0.08, n)
        for t in range(1, n):
            ar[t] = 0.6 * ar[t - 1] + eps[t]
        boost = np.where(lto_mask, rng.uniform(1.1, 1.35), 1.0)
        spend = level * (1 + amp * season) * np.exp(ar) * boost * jitter
    elif spec.pattern == "quarterly_burst":
        starts, lengths = [], []
        for q in range(int(np.ceil(n / 13)) + 1):
            length = int(rng.integers(4, 7))
            starts.append(q * 13 + int(rng.integers(0, 13 - length + 1)))
            lengths.append(length)
        mask = _windows_mask(n, starts, lengths)
        levels = np.zeros(n)
        for s, length in zip(starts, lengths):
            levels[s : s + length] = rng.uniform(lo, hi)
        spend = np.where(mask, levels * jitter, 0.0)
    elif spec.pattern in ("lto", "sparse_lto"):
        spend = np.zeros(n)
        active = [True] * len(lto)
        if spec.pattern == "sparse_lto":
            active = list(rng.random(len(lto)) < 0.4)
            inside = [i for i, (s, length) in enumerate(lto) if s < in_sample.stop and s + length > in_sample.start]
            if inside and not any(active[i] for i in inside):
                active[inside[int(rng.integers(0, len(inside)))]] = True
        for (s, length), on in zip(lto, active):
            level = rng.uniform(lo, hi)
            shape = np.linspace(1.15, 0.8, length)  # heavy at launch, tapering
            if on:
                spend[s : s + length] = level * shape[: max(min(n - s, length), 0)]
        spend = spend * jitter
        if spec.pattern == "lto" and spec.channel != "Linear TV":
            # digital support keeps a small always-on presence between pushes
            spend = np.where(spend > 0, spend, lo * rng.uniform(0.1, 0.25) * jitter)
    else:
        raise ValueError(f"unknown spend pattern {spec.pattern!r}")
    spend = np.round(np.clip(spend, 0.0, None), 2)
    if not (spend[in_sample] > 0).any():  # every media variable must have spend in the sample
        t = in_sample.start + int(rng.integers(0, in_sample.stop - in_sample.start))
        spend[t] = round(float(rng.uniform(lo, hi)), 2)
    return spend


def _impressions(rng: np.random.Generator, spend: np.ndarray, cpm: float, doy: np.ndarray) -> np.ndarray:
    """Impressions = spend / CPM * 1000, with CPM noise and Q4 inflation."""
    q4 = np.where(doy >= 274, 1.15, 1.0)
    cpm_t = cpm * q4 * np.exp(rng.normal(0.0, 0.08, len(spend)))
    return np.round(spend / cpm_t * 1000.0)


# --------------------------------------------------------------------------- main entry point


def _seed_sequence(seed: int, brand: str) -> np.random.SeedSequence:
    return np.random.SeedSequence([int(seed), zlib.crc32(brand.encode("utf-8"))])


def _check_out(out: Path) -> None:
    if out.exists():
        if not out.is_dir():
            raise FileExistsError(f"{out} exists and is not a folder; refusing to write the demo dataset there")
        if any(out.iterdir()):
            raise FileExistsError(f"{out} is not empty; refusing to overwrite it (choose a new or empty folder)")


def generate_demo_dataset(
    out: str | Path,
    weeks: int = 156,
    seed: int = 0,
    brand: str = "artemis-burgers",
    audiences: list[str] | None = None,
    start: str = "2022-01-03",
) -> Path:
    """Write a synthetic dataset folder with known true effects and return its path.

    The folder ``out`` (created; refused if it exists and is not empty) receives ``training.csv``,
    ``taxonomy.csv`` and ``dataset.yaml`` as described in the data contract, plus
    ``ground_truth.csv`` (true weekly contribution of every variable, ``baseline`` and
    ``seasonality``, summing to the noise-free expected target per date × audience) and
    ``ground_truth.json`` (true parameters).

    Simulation, per series (the national one, or each audience): for a media variable with signal
    column ``x`` (spend or impressions), ``xs = x / max(x)``;
    ``a = geometric_adstock(xs, alpha, l_max=8, normalize=True, history=history / max(x))`` with
    ``history`` the 7 pre-sample weeks stored in ``ground_truth.json``;
    ``contribution = beta * hill_saturation(a, half_saturation, slope)`` with ``beta`` such that the
    total contribution equals ``total_spend / cost_per_incremental_transaction``. Baseline is
    ``level * (1 + trend * t / T)``, seasonality ``level * sum_k (sin_k sin(2 pi k d / 365.25) +
    cos_k cos(...))`` with ``d`` the week start in days since 1970-01-01 (as in ``jobs/design.py``), controls
    ``coef * (c - mean) / sd``, holidays ``coef * flag``, owned ``coef * x / max(x)``. The target is
    the sum plus Normal noise, clipped at 0 and rounded to whole transactions.

    ``ground_truth.json`` holds the national block at the top level (``media``, ``controls``,
    ``holidays``, ``owned``, ``seasonality``, ``baseline_level``, ``noise_sd``, ...); when
    ``audiences`` are given it holds ``audiences: {name: block}`` instead.
    The same arguments always give byte-identical files.
    """
    if brand not in BRANDS:
        raise ValueError(f"unknown brand {brand!r}; choose one of {sorted(BRANDS)}")
    if isinstance(weeks, bool) or not isinstance(weeks, (int, np.integer)) or weeks < L_MAX:
        raise ValueError(f"weeks must be an integer >= {L_MAX}, got {weeks!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    start_date = dt.date.fromisoformat(start)
    if start_date.weekday() != 0:
        raise ValueError(f"start must be a Monday (weeks start on Mondays), got {start} ({start_date:%A})")
    if audiences is not None:
        audiences = [str(a) for a in audiences]
        if not audiences or any(not a.strip() for a in audiences) or len(set(audiences)) != len(audiences):
            raise ValueError(f"audiences must be a non-empty list of distinct, non-empty names, got {audiences!r}")
    out = Path(out)
    _check_out(out)

    preset = BRANDS[brand]
    weeks = int(weeks)
    T, H = weeks, HISTORY_WEEKS
    n = T + H
    all_dates = pd.date_range(start_date - dt.timedelta(weeks=H), periods=n, freq="7D")
    dates = all_dates[H:]
    doy_all = all_dates.day_of_year.to_numpy().astype(float)
    doy = doy_all[H:]
    in_sample = slice(H, n)

    ss = _seed_sequence(seed, brand)
    rng_plan, rng_ctrl, rng_fx, rng_aud, rng_noise = (np.random.default_rng(s) for s in ss.spawn(5))

    # ---- national media plan (with pre-sample weeks)
    lto = _lto_windows(rng_plan, n, preset.lto_per_year)
    national_spend = {m.name: _spend_series(rng_plan, m, n, doy_all, lto, in_sample) for m in preset.media}

    # ---- controls, holidays, owned (in-sample only)
    t_idx = np.arange(T, dtype=float)
    temperature = np.round(57 + 21 * np.cos(2 * np.pi * (doy - 200) / DAYS_PER_YEAR) + rng_ctrl.normal(0, 3.0, T), 1)
    precip = np.round(rng_ctrl.gamma(4.0, 0.18, T) * (1 + 0.2 * np.cos(2 * np.pi * (doy - 100) / DAYS_PER_YEAR)), 2)
    step_at = int(rng_ctrl.integers(T // 3, max(2 * T // 3, T // 3 + 1)))
    price = 100 * np.exp(0.03 * t_idx / 52 + np.cumsum(rng_ctrl.normal(0, 0.002, T)))
    price = np.round(price + np.where(t_idx >= step_at, rng_ctrl.uniform(3, 5), 0.0), 2)
    comp_mask = _flights(rng_ctrl, T, on=(3, 8), off=(2, 6))
    comp_level = rng_ctrl.uniform(*preset.competitor_spend, T)
    competitor = np.round(np.where(comp_mask, comp_level, rng_ctrl.uniform(0.0, 0.1, T) * preset.competitor_spend[0]), 2)
    controls = dict(zip(CONTROL_NAMES, (temperature, precip, price, competitor)))
    holidays = {h: _holiday_flags(h, dates) for h in preset.holiday_effects}
    lto_in = _windows_mask(n, [s for s, _ in lto], [length for _, length in lto])[H:]
    owned_national = {
        o: np.round(
            rng_ctrl.uniform(10e6, 14e6) * np.exp(rng_ctrl.normal(0, 0.15, T))
            + np.where(lto_in, rng_ctrl.uniform(6e6, 10e6), 0.0)  # campaign pushes during LTO windows
        )
        for o in preset.owned_effects
    }

    # ---- brand-level true effects
    media_fx = {}
    for m in preset.media:
        media_fx[m.name] = {
            "alpha": rng_fx.uniform(*m.alpha),
            "half_saturation": rng_fx.uniform(0.2, 0.6),
            "slope": rng_fx.uniform(0.8, 2.5),
            "cpit": rng_fx.uniform(*m.cpit),
        }
    trend = rng_fx.uniform(*preset.trend)
    amp = rng_fx.uniform(*preset.season_amplitude)
    ratio = rng_fx.uniform(0.2, 0.45)
    peak = preset.season_peak_doy + rng_fx.uniform(-10, 10)
    phase2 = rng_fx.uniform(0, 2 * np.pi)
    w1, w2 = 2 * np.pi * (EPOCH_DAYS_2000 - 1 + peak) / DAYS_PER_YEAR, phase2  # peak day of year, in epoch days
    # amp/(1+ratio) * (cos(phase - w1) + ratio * cos(2 phase - w2)) in sin/cos form
    season_coef = {
        "sin_1": amp / (1 + ratio) * np.sin(w1),
        "cos_1": amp / (1 + ratio) * np.cos(w1),
        "sin_2": amp * ratio / (1 + ratio) * np.sin(w2),
        "cos_2": amp * ratio / (1 + ratio) * np.cos(w2),
    }
    control_fx = {c: rng_fx.uniform(*r) for c, r in preset.control_effects.items()}
    holiday_fx = {h: rng_fx.uniform(*r) for h, r in preset.holiday_effects.items()}
    owned_fx = {o: rng_fx.uniform(*r) for o, r in preset.owned_effects.items()}
    noise_pct = rng_fx.uniform(*preset.noise_pct)
    share_target = rng_fx.uniform(*preset.media_share)

    # ---- series: national, or one per audience
    segments: list[tuple[str, dict]] = []
    if audiences is None:
        segments.append(("", {"level_share": 1.0, "spend_share": {m.name: 1.0 for m in preset.media}, "jitter": False}))
    else:
        k = len(audiences)
        base_shares = rng_aud.dirichlet(np.full(k, 8.0))
        spend_shares = {}
        for m in preset.media:
            tilt = base_shares * np.exp(rng_aud.normal(0.0, 0.35, k))
            spend_shares[m.name] = tilt / tilt.sum()
        for i, a in enumerate(audiences):
            spend_share = {v: float(s[i]) for v, s in spend_shares.items()}
            segments.append((a, {"level_share": float(base_shares[i]), "spend_share": spend_share, "jitter": True}))

    training_frames, truth_frames, blocks = [], [], {}
    season_basis = _fourier(dates)
    for aud, seg in segments:
        level = preset.base_level * seg["level_share"]
        spend, impressions = {}, {}
        for m in preset.media:
            s = national_spend[m.name] * seg["spend_share"][m.name]
            if seg["jitter"]:
                s = s * np.exp(rng_aud.normal(0.0, 0.08, n))
            spend[m.name] = np.round(s, 2)
            impressions[m.name] = _impressions(rng_plan if not seg["jitter"] else rng_aud, spend[m.name], m.cpm, doy_all)
        owned = {o: (np.round(x * seg["level_share"]) if seg["jitter"] else x) for o, x in owned_national.items()}

        contrib: dict[str, tuple[str, np.ndarray]] = {}
        contrib["baseline"] = ("baseline", level * (1 + trend * t_idx / T))
        contrib["seasonality"] = ("seasonality", level * sum(season_coef[key] * season_basis[key] for key in season_coef))
        ctrl_info = {}
        for c, x in controls.items():
            gamma = control_fx[c] * (np.exp(rng_aud.normal(0, 0.1)) if seg["jitter"] else 1.0)
            mean, sd = float(x.mean()), float(x.std())
            coef = gamma * level
            contrib[c] = ("control", coef * (x - mean) / sd)
            ctrl_info[c] = {"effect_per_sd": gamma, "coef": coef, "mean": mean, "sd": sd, "transform": "(x - mean) / sd"}
        hol_info = {}
        for h, x in holidays.items():
            eff = holiday_fx[h] * (np.exp(rng_aud.normal(0, 0.1)) if seg["jitter"] else 1.0)
            contrib[h] = ("holiday", eff * level * x)
            hol_info[h] = {"effect": eff, "coef": eff * level}
        own_info = {}
        for o, x in owned.items():
            eff = owned_fx[o] * (np.exp(rng_aud.normal(0, 0.1)) if seg["jitter"] else 1.0)
            mx = float(x.max())
            contrib[o] = ("owned", eff * level * x / mx)
            own_info[o] = {"effect": eff, "coef": eff * level, "max": mx, "transform": "x / max"}
        other_total = float(sum(v.sum() for _, v in contrib.values()))

        # media: saturated adstock, then betas from the cost per incremental transaction
        sat, media_info = {}, {}
        for m in preset.media:
            fx = dict(media_fx[m.name])
            if seg["jitter"]:
                fx["alpha"] = float(np.clip(fx["alpha"] + rng_aud.normal(0, 0.03), 0.05, 0.8))
                fx["half_saturation"] = float(np.clip(fx["half_saturation"] * np.exp(rng_aud.normal(0, 0.08)), 0.15, 0.7))
                fx["slope"] = float(np.clip(fx["slope"] * np.exp(rng_aud.normal(0, 0.06)), 0.7, 2.7))
                fx["cpit"] = fx["cpit"] * np.exp(rng_aud.normal(0, 0.12))
            x_all = spend[m.name] if m.signal == "spend" else impressions[m.name]
            x, hist = x_all[H:], x_all[:H]
            xmax = float(x.max())
            a = geometric_adstock(x / xmax, fx["alpha"], l_max=L_MAX, normalize=True, history=hist / xmax)
            sat[m.name] = hill_saturation(a, fx["half_saturation"], fx["slope"])
            media_info[m.name] = {"fx": fx, "signal_max": xmax, "history": hist}
        raw_total = sum(float(spend[v][H:].sum()) / media_info[v]["fx"]["cpit"] for v in sat)
        # scale every cost per incremental transaction by one factor so the media share hits its target
        calib = raw_total * (1 - share_target) / (share_target * other_total)
        media_block = {}
        for m in preset.media:
            v = m.name
            fx = media_info[v]["fx"]
            cpit = fx["cpit"] * calib
            total_spend = float(spend[v][H:].sum())
            total_contribution = total_spend / cpit
            beta = total_contribution / float(sat[v].sum())
            contrib[v] = ("media", beta * sat[v])
            media_block[v] = {
                "signal": m.signal,
                "alpha": float(fx["alpha"]),
                "half_saturation": float(fx["half_saturation"]),
                "slope": float(fx["slope"]),
                "l_max": L_MAX,
                "normalize": True,
                "beta": beta,
                "signal_max": media_info[v]["signal_max"],
                "cost_per_incremental_transaction": cpit,
                "total_contribution": float(contrib[v][1].sum()),
                "total_spend": total_spend,
                "total_impressions": float(impressions[v][H:].sum()),
                "history": [float(h) for h in media_info[v]["history"]],
            }

        expected = np.sum([v for _, v in contrib.values()], axis=0)
        if (expected <= 0).any():
            raise RuntimeError("simulated expected transactions are not positive; preset is mis-specified")
        noise_sd = noise_pct * float(expected.mean())
        y = np.round(np.clip(expected + rng_noise.normal(0.0, noise_sd, T), 0.0, None)).astype(np.int64)

        cols: dict[str, object] = {"date": dates.strftime("%Y-%m-%d")}
        if audiences is not None:
            cols["audience"] = aud
        cols[TARGET] = y
        for m in preset.media:
            cols[f"{m.name}_spend"] = spend[m.name][H:]
            cols[f"{m.name}_impressions"] = impressions[m.name][H:].astype(np.int64)
        cols.update(controls)
        cols.update(holidays)
        cols.update({o: x.astype(np.int64) for o, x in owned.items()})
        training_frames.append(pd.DataFrame(cols))

        truth_frames.append(
            pd.DataFrame(
                {
                    "date": np.repeat(dates.strftime("%Y-%m-%d").to_numpy(), len(contrib)),
                    "audience": aud,
                    "variable": np.tile(list(contrib), T),
                    "kind": np.tile([k for k, _ in contrib.values()], T),
                    "contribution": np.stack([v for _, v in contrib.values()], axis=1).reshape(-1) + 0.0,  # no -0.0
                }
            )
        )
        media_total = float(sum(v.sum() for k, v in contrib.values() if k == "media"))
        blocks[aud] = {
            "baseline_level": level,
            "trend": trend,
            "noise_sd": noise_sd,
            "noise_pct": noise_pct,
            "expected_mean": float(expected.mean()),
            "media_share": media_total / float(expected.sum()),
            "media_share_target": share_target,
            "cpit_calibration_factor": calib,
            "seasonality": {
                "amplitude": amp,
                "coefficients": {k: float(c * level) for k, c in season_coef.items()},
                "relative": {k: float(c) for k, c in season_coef.items()},
            },
            "media": media_block,
            "controls": ctrl_info,
            "holidays": hol_info,
            "owned": own_info,
        }
        if audiences is not None:
            blocks[aud]["level_share"] = seg["level_share"]
            blocks[aud]["spend_share"] = seg["spend_share"]

    training = pd.concat(training_frames, ignore_index=True)
    truth = pd.concat(truth_frames, ignore_index=True)[GROUND_TRUTH_COLUMNS]
    if audiences is not None:  # date-major, audiences in the order given
        order = {a: i for i, a in enumerate(audiences)}

        def key(col: pd.Series) -> pd.Series:
            return col.map(order) if col.name == "audience" else col

        training = training.sort_values(["date", "audience"], key=key, kind="stable").reset_index(drop=True)
        truth = truth.sort_values(["date", "audience"], key=key, kind="stable").reset_index(drop=True)

    taxonomy = pd.DataFrame(
        [[m.name, "media", m.channel, m.channel_group, m.pillar, m.message_type, m.signal] for m in preset.media]
        + [[c, "control", "", "", "", "", ""] for c in controls]
        + [[h, "holiday", "", "", "", "", ""] for h in holidays]
        + [[o, "owned", "", "", "", "", ""] for o in owned_national],
        columns=TAXONOMY_COLUMNS,
    )
    generator = {"seed": int(seed), "weeks": T, "start": start_date.isoformat(), "audiences": audiences}
    dataset_yaml = {"brand": preset.display_name, "brand_id": preset.brand_id, "target": TARGET, "generator": generator}
    truth_json: dict[str, object] = {
        "brand": preset.display_name,
        "brand_id": preset.brand_id,
        "target": TARGET,
        "generator": generator,
        "l_max": L_MAX,
        "history_weeks": H,
        "model": (
            "media: beta * hill(geometric_adstock(x / signal_max, alpha, l_max, normalize=True, "
            "history=history / signal_max), half_saturation, slope); baseline: baseline_level * (1 + trend * t / T); "
            "seasonality: sum_k coef_sin_k sin(2 pi k d / 365.25) + coef_cos_k cos(2 pi k d / 365.25), "
            "d = days since 1970-01-01 of the week start; "
            "controls: coef * (x - mean) / sd; holidays: coef * flag; owned: coef * x / max; "
            "y = round(max(sum + Normal(0, noise_sd), 0))"
        ),
    }
    if audiences is None:
        truth_json.update(blocks[""])
    else:
        truth_json["audiences"] = blocks

    out.mkdir(parents=True, exist_ok=True)
    training.to_csv(out / "training.csv", index=False, lineterminator="\n")
    taxonomy.to_csv(out / "taxonomy.csv", index=False, lineterminator="\n")
    truth.to_csv(out / "ground_truth.csv", index=False, lineterminator="\n")
    (out / "dataset.yaml").write_text(yaml.safe_dump(dataset_yaml, sort_keys=False, allow_unicode=True), encoding="utf-8")
    (out / "ground_truth.json").write_text(json.dumps(_jsonable(truth_json), indent=2) + "\n", encoding="utf-8")
    return out


def _jsonable(obj: object) -> object:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    return obj
