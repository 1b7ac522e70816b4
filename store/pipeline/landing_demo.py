"""Generate seeded landing files for the demo brand (Artemis Burgers): paid media, owned media, daily
sales by region and daily weather, as CSV or Parquet, for tests, the benchmark and trying the pipeline."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

# The demo brand's media variables (as in jobs/demo_data.py): channel, message type, channel group, pillar,
# signal, typical weekly spend (US dollars), CPM.
MEDIA = (
    ("Linear TV", "Brand", "TV", "Awareness", "spend", 2_000_000, 28.0),
    ("Linear TV", "Value", "TV", "Consideration", "spend", 1_500_000, 26.0),
    ("Linear TV", "Product", "TV", "Consideration", "spend", 2_000_000, 27.0),
    ("CTV", "Brand", "TV", "Awareness", "impressions", 500_000, 35.0),
    ("Paid Social", "Value", "Digital", "Consideration", "spend", 500_000, 9.0),
    ("Paid Social", "Product", "Digital", "Consideration", "spend", 350_000, 9.5),
    ("Paid Search", "Brand", "Digital", "Conversion", "spend", 220_000, 32.0),
    ("Paid Search", "Value", "Digital", "Conversion", "spend", 180_000, 30.0),
    ("Online Video", "Brand", "Digital", "Awareness", "impressions", 350_000, 18.0),
    ("Audio", "Value", "Audio", "Consideration", "spend", 300_000, 12.0),
    ("OOH", "Brand", "OOH", "Awareness", "spend", 600_000, 6.0),
    ("Display", "Product", "Digital", "Conversion", "spend", 170_000, 4.5),
)
OWNED = ("App Push", "Value", "Owned", "Consideration", "app_push_sends")
PLATFORMS = {"Linear TV": ("NBC", "CBS"), "CTV": ("Hulu", "Roku"), "Paid Social": ("Meta", "TikTok"),
             "Paid Search": ("Google", "Bing"), "Online Video": ("YouTube", "Twitch"), "Audio": ("Spotify", "iHeart"),
             "OOH": ("Outfront", "Clear Channel"), "Display": ("DV360", "Trade Desk")}
TACTICS = ("Prospecting", "Retargeting")
AUDIENCES = ("Value Seekers", "Families", "Young Adults")
REGIONS = ("Northeast", "South", "Midwest", "West")
START = dt.date(2023, 1, 2)  # a Monday
PAID_COLUMNS = ["Date", "Channel", "Platform", "Tactic", "Campaign", "Message Type", "Audience", "Spend (USD)",
                "Impressions"]


def _write(table: pa.Table, path: Path, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        pacsv.write_csv(table, path.with_suffix(".csv"))
    else:
        pq.write_table(table, path.with_suffix(".parquet"))


def _months(days: list[dt.date]) -> dict[tuple[int, int], list[int]]:
    out: dict[tuple[int, int], list[int]] = {}
    for i, d in enumerate(days):
        out.setdefault((d.year, d.month), []).append(i)
    return out


def generate_landing(out: str | Path, rows: int = 100_000, seed: int = 0, weeks: int = 52, fmt: str = "csv",
                     start: dt.date = START) -> Path:
    """Write ``rows`` paid-media rows spread over ``weeks`` weeks of days (one file per month), plus owned
    media (daily per audience), sales (daily per region) and weather (daily per region), under
    ``out/{paid_media,owned_media,sales,weather}/``. Paid-media rows are unique by date, channel, platform,
    tactic, campaign, message type and audience; every media variable has spend on every day once
    ``rows >= 36 * 7 * weeks``."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be csv or parquet, got {fmt!r}")
    out = Path(out)
    rng = np.random.default_rng(seed)
    days = [start + dt.timedelta(days=i) for i in range(7 * weeks)]
    n_days = len(days)
    per_day = -(-rows // n_days)
    n_var, n_aud = len(MEDIA), len(AUDIENCES)
    combos = n_var * n_aud * 2 * len(TACTICS)
    channels = np.array([m[0] for m in MEDIA])
    messages = np.array([m[1] for m in MEDIA])
    weekly = np.array([m[5] for m in MEDIA], dtype=float)
    cpm = np.array([m[6] for m in MEDIA])
    platforms = np.array([[PLATFORMS[m[0]][0], PLATFORMS[m[0]][1]] for m in MEDIA])
    audiences, tactics = np.array(AUDIENCES), np.array(TACTICS)
    # rows per variable per day, to split each variable's daily budget
    share = np.bincount(np.arange(min(per_day, rows)) % n_var, minlength=n_var).clip(min=1)
    season = 1 + 0.2 * np.sin(2 * np.pi * np.arange(n_days) / 365.25)

    for (year, month), idx in _months(days).items():
        lo, hi = idx[0] * per_day, min((idx[-1] + 1) * per_day, rows)
        if lo >= hi:
            break
        k = np.arange(lo, hi)
        day, within = k // per_day, k % per_day
        combo, campaign = within % combos, within // combos
        var = combo % n_var
        aud = (combo // n_var) % n_aud
        plat = (combo // (n_var * n_aud)) % 2
        tac = (combo // (n_var * n_aud * 2)) % len(TACTICS)
        daily = weekly[var] / 7 / share[var] * season[day] * rng.lognormal(0, 0.3, len(k))
        spend = np.round(daily, 2)
        impressions = np.floor(spend / cpm[var] * 1000 * rng.lognormal(0, 0.1, len(k))).astype(np.int64)
        table = pa.table({
            "Date": pa.array(np.array(days, dtype="datetime64[D]")[day]),
            "Channel": channels[var], "Platform": platforms[var, plat], "Tactic": tactics[tac],
            "Campaign": np.char.add(np.char.add(messages[var], " "), np.char.zfill(campaign.astype(str), 4)),
            "Message Type": messages[var], "Audience": audiences[aud],
            "Spend (USD)": spend, "Impressions": impressions})
        _write(table, out / "paid_media" / f"paid_media_{year}_{month:02d}", fmt)

    d = np.repeat(np.array(days, dtype="datetime64[D]"), n_aud)
    _write(pa.table({"date": d, "channel": [OWNED[0]] * len(d), "message": [OWNED[1]] * len(d),
                     "segment": np.tile(audiences, n_days),
                     "sends": rng.integers(20_000, 60_000, len(d)).astype(np.int64)}),
           out / "owned_media" / "owned_media", fmt)
    n_reg = len(REGIONS)
    d = np.repeat(np.array(days, dtype="datetime64[D]"), n_reg)
    base = np.tile(np.array([1.0, 1.3, 0.9, 1.1]), n_days) * 100_000
    _write(pa.table({"day": d, "region": np.tile(np.array(REGIONS), n_days),
                     "transactions": np.round(base * np.repeat(season, n_reg) * rng.normal(1, 0.03, len(d))).astype(np.int64)}),
           out / "sales" / "sales", fmt)
    doy = np.repeat(np.array([x.timetuple().tm_yday for x in days]), n_reg)
    _write(pa.table({"obs_date": d, "region": np.tile(np.array(REGIONS), n_days),
                     "temp_f": np.round(55 - 20 * np.cos(2 * np.pi * (doy - 15) / 365.25) + rng.normal(0, 4, len(d)), 1),
                     "precip_in": np.round(rng.gamma(0.5, 0.2, len(d)), 2)}),
           out / "weather" / "weather", fmt)
    return out
