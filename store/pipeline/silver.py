"""Bronze -> silver: a star schema. ``fact_media`` (keys to the date, variable, channel, pillar, message type,
audience and campaign dimensions), ``fact_sales``, ``fact_control`` and their ``dim_*`` tables, rebuilt in
full from bronze by the same SQL on either engine."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from store.pipeline.bronze import register_bronze
from store.pipeline.config import PipelineConfig
from store.pipeline.engine import Engine

KEY = "CAST(dense_rank() OVER (ORDER BY {cols}) AS INT)"

# name -> SQL over the views media_all, sales_all, control_all, taxonomy, control_variables.
SILVER_SQL: dict[str, str] = {
    "dim_date": """
        SELECT CAST(year(date) * 10000 + month(date) * 100 + day(date) AS INT) AS date_key, date,
               CAST(date_trunc('week', date) AS DATE) AS week_start, CAST(year(date) AS INT) AS year,
               CAST(month(date) AS INT) AS month
        FROM (SELECT date FROM media_all UNION SELECT date FROM sales_all UNION SELECT date FROM control_all) d""",
    "dim_channel": f"""
        SELECT {KEY.format(cols="channel")} AS channel_key, channel, channel_group
        FROM (SELECT DISTINCT channel, channel_group FROM taxonomy) t""",
    "dim_pillar": f"SELECT {KEY.format(cols='pillar')} AS pillar_key, pillar FROM (SELECT DISTINCT pillar FROM taxonomy) t",
    "dim_message_type": f"""
        SELECT {KEY.format(cols="message_type")} AS message_type_key, message_type
        FROM (SELECT DISTINCT message_type FROM taxonomy) t""",
    "dim_audience": f"""
        SELECT {KEY.format(cols="audience")} AS audience_key, audience
        FROM (SELECT DISTINCT audience FROM media_all) t""",
    "dim_campaign": f"""
        SELECT {KEY.format(cols="campaign")} AS campaign_key, campaign
        FROM (SELECT DISTINCT campaign FROM media_all) t""",
    "dim_variable": f"""
        SELECT {KEY.format(cols="t.variable")} AS variable_key, t.variable, t.kind, t.signal, t.channel, t.message_type,
               c.channel_key, p.pillar_key, m.message_type_key
        FROM taxonomy t JOIN dim_channel c ON t.channel = c.channel JOIN dim_pillar p ON t.pillar = p.pillar
             JOIN dim_message_type m ON t.message_type = m.message_type""",
    "fact_media": """
        SELECT d.date_key, v.variable_key, v.channel_key, v.pillar_key, v.message_type_key, a.audience_key,
               c.campaign_key, m.entity, m.platform, m.tactic, m.spend, m.impressions
        FROM media_all m JOIN dim_variable v ON m.channel = v.channel AND m.message_type = v.message_type
             JOIN dim_date d ON m.date = d.date JOIN dim_audience a ON m.audience = a.audience
             JOIN dim_campaign c ON m.campaign = c.campaign""",
    "fact_sales": """
        SELECT d.date_key, s.entity, s.region, s.transactions
        FROM sales_all s JOIN dim_date d ON s.date = d.date""",
    "dim_control_variable": "SELECT variable, aggregate FROM control_variables",
    "fact_control": """
        SELECT d.date_key, c.region, c.variable, c.value
        FROM control_all c JOIN dim_date d ON c.date = d.date""",
}
SILVER_TABLES = tuple(SILVER_SQL)


def _union(parts: list[str], empty: str) -> str:
    return " UNION ALL ".join(parts) if parts else empty


def register_inputs(engine: Engine, cfg: PipelineConfig, bronze: Path) -> None:
    """The bronze views, and media_all / sales_all / control_all over every entity of each kind (text
    dimensions never NULL: '' stands for 'none', e.g. a national row's audience)."""
    media, sales, control = [], [], []
    for e in cfg.entities:
        view = f"bronze_{e.name}"
        register_bronze(engine, e, bronze, view)
        lit = f"'{e.name}'"
        if e.kind == "media":
            media.append(
                f"SELECT {lit} AS entity, date, channel, message_type, COALESCE(platform, '') AS platform, "
                f"COALESCE(tactic, '') AS tactic, COALESCE(campaign, '') AS campaign, "
                f"COALESCE(audience, '') AS audience, COALESCE(spend, CAST(0 AS DECIMAL(18,2))) AS spend, "
                f"COALESCE(impressions, CAST(0 AS BIGINT)) AS impressions FROM {view}")
        elif e.kind == "sales":
            sales.append(f"SELECT {lit} AS entity, date, COALESCE(region, '') AS region, transactions FROM {view}")
        else:
            for c in e.values:
                control.append(f"SELECT date, COALESCE(region, '') AS region, '{c.name}' AS variable, "
                               f"CAST({c.name} AS DECIMAL(18,4)) AS value FROM {view} WHERE {c.name} IS NOT NULL")
    tax = cfg.taxonomy
    engine.register_arrow("taxonomy", pa.table({
        "variable": [t.variable for t in tax], "kind": [t.kind for t in tax], "channel": [t.channel for t in tax],
        "message_type": [t.message_type for t in tax], "channel_group": [t.channel_group for t in tax],
        "pillar": [t.pillar for t in tax], "signal": [t.signal for t in tax]}))
    engine.register_arrow("control_variables", pa.table(
        {"variable": [c.name for c in cfg.controls], "aggregate": [c.aggregate for c in cfg.controls]},
        schema=pa.schema([("variable", pa.string()), ("aggregate", pa.string())])))
    engine.register_arrow("_empty_media", pa.schema([
        ("entity", pa.string()), ("date", pa.date32()), ("channel", pa.string()), ("message_type", pa.string()),
        ("platform", pa.string()), ("tactic", pa.string()), ("campaign", pa.string()), ("audience", pa.string()),
        ("spend", pa.decimal128(18, 2)), ("impressions", pa.int64())]).empty_table())
    engine.register_arrow("_empty_sales", pa.schema([
        ("entity", pa.string()), ("date", pa.date32()), ("region", pa.string()), ("transactions", pa.int64())]).empty_table())
    engine.register_arrow("_empty_control", pa.schema([
        ("date", pa.date32()), ("region", pa.string()), ("variable", pa.string()),
        ("value", pa.decimal128(18, 4))]).empty_table())
    engine.execute("CREATE OR REPLACE TEMPORARY VIEW media_all AS " + _union(media, "SELECT * FROM _empty_media"))
    engine.execute("CREATE OR REPLACE TEMPORARY VIEW sales_all AS " + _union(sales, "SELECT * FROM _empty_sales"))
    engine.execute("CREATE OR REPLACE TEMPORARY VIEW control_all AS " + _union(control, "SELECT * FROM _empty_control"))


def build_silver(engine: Engine, cfg: PipelineConfig, bronze: Path, silver: Path, tmp: Path) -> dict[str, int]:
    """Rebuild every silver table from bronze into a temporary folder, then swap the folder in; rows per table."""
    register_inputs(engine, cfg, bronze)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    rows = {}
    for name, sql in SILVER_SQL.items():
        engine.write_table(sql, tmp / name)
        register_silver_table(engine, tmp, name)
        rows[name] = sum(pq.ParquetFile(p).metadata.num_rows for p in (tmp / name).glob("*.parquet"))
    old = silver.with_name(silver.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if silver.exists():
        silver.rename(old)
    tmp.rename(silver)
    shutil.rmtree(old, ignore_errors=True)
    register_silver(engine, silver)  # (the views read the temporary folder until now)
    return rows


def register_silver_table(engine: Engine, silver: Path, name: str) -> None:
    # every silver table is written, possibly empty, so its schema comes from its files
    engine.register_parquet(name, silver / name, pa.schema([]))


def register_silver(engine: Engine, silver: Path) -> None:
    for name in SILVER_TABLES:
        if not (silver / name).is_dir():
            raise FileNotFoundError(f"silver table {name} is missing under {silver} (run from bronze first)")
        register_silver_table(engine, silver, name)

