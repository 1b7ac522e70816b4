"""Silver -> gold: weekly aggregates (weeks start on Monday) by variable and audience, by region for sales,
by variable for controls. Exact types (DECIMAL money, BIGINT counts) so both engines agree to the byte."""

from __future__ import annotations

import pyarrow as pa

from store.pipeline.engine import Engine

GOLD_SQL: dict[str, str] = {
    "media_weekly": """
        SELECT dd.week_start AS week, v.variable, v.kind, ch.channel, ch.channel_group, p.pillar, mt.message_type,
               NULLIF(a.audience, '') AS audience, CAST(sum(f.spend) AS DECIMAL(18,2)) AS spend,
               CAST(sum(f.impressions) AS BIGINT) AS impressions, CAST(count(*) AS BIGINT) AS source_rows
        FROM fact_media f JOIN dim_date dd ON f.date_key = dd.date_key
             JOIN dim_variable v ON f.variable_key = v.variable_key JOIN dim_channel ch ON f.channel_key = ch.channel_key
             JOIN dim_pillar p ON f.pillar_key = p.pillar_key JOIN dim_message_type mt ON f.message_type_key = mt.message_type_key
             JOIN dim_audience a ON f.audience_key = a.audience_key
        GROUP BY dd.week_start, v.variable, v.kind, ch.channel, ch.channel_group, p.pillar, mt.message_type, a.audience""",
    "sales_weekly": """
        SELECT dd.week_start AS week, NULLIF(s.region, '') AS region, CAST(sum(s.transactions) AS BIGINT) AS transactions,
               CAST(count(DISTINCT s.date_key) AS BIGINT) AS days
        FROM fact_sales s JOIN dim_date dd ON s.date_key = dd.date_key
        GROUP BY dd.week_start, s.region""",
    "controls_weekly": """
        SELECT dd.week_start AS week, c.variable,
               CASE WHEN v.aggregate = 'sum' THEN CAST(sum(c.value) AS DOUBLE)
                    ELSE CAST(sum(c.value) AS DOUBLE) / count(c.value) END AS value,
               CAST(count(c.value) AS BIGINT) AS observations
        FROM fact_control c JOIN dim_date dd ON c.date_key = dd.date_key
             JOIN dim_control_variable v ON c.variable = v.variable
        GROUP BY dd.week_start, c.variable, v.aggregate""",
}
GOLD_SCHEMAS: dict[str, pa.Schema] = {
    "media_weekly": pa.schema([
        ("week", pa.date32()), ("variable", pa.string()), ("kind", pa.string()), ("channel", pa.string()),
        ("channel_group", pa.string()), ("pillar", pa.string()), ("message_type", pa.string()),
        ("audience", pa.string()), ("spend", pa.decimal128(18, 2)), ("impressions", pa.int64()),
        ("source_rows", pa.int64())]),
    "sales_weekly": pa.schema([("week", pa.date32()), ("region", pa.string()), ("transactions", pa.int64()),
                               ("days", pa.int64())]),
    "controls_weekly": pa.schema([("week", pa.date32()), ("variable", pa.string()), ("value", pa.float64()),
                                  ("observations", pa.int64())]),
}
GOLD_KEYS = {"media_weekly": ["week", "variable", "audience"], "sales_weekly": ["week", "region"],
             "controls_weekly": ["week", "variable"]}


def build_gold(engine: Engine) -> dict[str, pa.Table]:
    """Every gold table from the registered silver views, in a fixed schema and row order."""
    return {name: normalize(name, engine.fetch(sql)) for name, sql in GOLD_SQL.items()}


def normalize(name: str, table: pa.Table) -> pa.Table:
    schema = GOLD_SCHEMAS[name]
    table = table.select(schema.names).cast(schema)
    return table.sort_by([(k, "ascending") for k in GOLD_KEYS[name]]).combine_chunks()
