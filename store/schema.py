"""The DuckDB store's schema: tables, version and migrations applied on open."""

from __future__ import annotations

import duckdb

SCHEMA_VERSION = 1

# Column lists of the run tables, in the order of the run folder files (data contract).
CONTRIBUTION_COLUMNS = [
    "date", "variable", "channel", "channel_group", "pillar", "message_type", "audience",
    "contribution", "contribution_lo", "contribution_hi", "spend", "impressions", "transactions",
    "is_media_variable", "is_control_variable", "kind", "split",
]
SUMMARY_COLUMNS = [
    "variable", "audience", "spend", "impressions", "contribution", "contribution_lo", "contribution_hi",
    "cost_per_incremental_transaction", "cost_per_incremental_transaction_lo",
    "cost_per_incremental_transaction_hi", "transactions_per_1k_impressions",
]
RESPONSE_COLUMNS = ["audience", "variable", "kind", "parameter", "draw", "value"]

_V1 = [
    """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY,
        brand VARCHAR NOT NULL,
        brand_id VARCHAR,
        status VARCHAR,
        status_reason VARCHAR,
        registry_status VARCHAR DEFAULT 'candidate',
        created_at TIMESTAMP,
        finished_at TIMESTAMP,
        variant VARCHAR,
        audiences VARCHAR[],
        target VARCHAR,
        weeks INTEGER,
        train_start DATE,
        train_end DATE,
        test_start DATE,
        test_end DATE,
        dataset_fingerprint VARCHAR,
        code_version VARCHAR,
        mlflow_run_id VARCHAR,
        train_mape DOUBLE, train_r2 DOUBLE, train_durbin_watson DOUBLE,
        test_mape DOUBLE, test_r2 DOUBLE, test_durbin_watson DOUBLE,
        max_rhat DOUBLE, min_ess_bulk DOUBLE, divergences INTEGER, fit_seconds DOUBLE,
        manifest JSON,
        metrics JSON,
        config_yaml VARCHAR,
        source VARCHAR,
        synced_at TIMESTAMP
    )""",
    """CREATE TABLE IF NOT EXISTS contributions (
        run_id VARCHAR NOT NULL, brand VARCHAR NOT NULL,
        date DATE NOT NULL, variable VARCHAR NOT NULL, channel VARCHAR, channel_group VARCHAR,
        pillar VARCHAR, message_type VARCHAR, audience VARCHAR,
        contribution DOUBLE, contribution_lo DOUBLE, contribution_hi DOUBLE,
        spend DOUBLE, impressions DOUBLE, transactions DOUBLE,
        is_media_variable BOOLEAN, is_control_variable BOOLEAN, kind VARCHAR, split VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS summaries (
        run_id VARCHAR NOT NULL, brand VARCHAR NOT NULL,
        variable VARCHAR NOT NULL, audience VARCHAR, spend DOUBLE, impressions DOUBLE,
        contribution DOUBLE, contribution_lo DOUBLE, contribution_hi DOUBLE,
        cost_per_incremental_transaction DOUBLE, cost_per_incremental_transaction_lo DOUBLE,
        cost_per_incremental_transaction_hi DOUBLE, transactions_per_1k_impressions DOUBLE
    )""",
    """CREATE TABLE IF NOT EXISTS response_draws (
        run_id VARCHAR NOT NULL, brand VARCHAR NOT NULL,
        audience VARCHAR, variable VARCHAR NOT NULL, kind VARCHAR, parameter VARCHAR NOT NULL,
        draw INTEGER NOT NULL, value DOUBLE
    )""",
    """CREATE TABLE IF NOT EXISTS scenarios (
        scenario_id VARCHAR PRIMARY KEY,
        brand VARCHAR NOT NULL,
        run_id VARCHAR,
        name VARCHAR NOT NULL,
        kind VARCHAR,
        created_at TIMESTAMP DEFAULT current_timestamp,
        created_by VARCHAR,
        payload JSON
    )""",
    """CREATE TABLE IF NOT EXISTS sync_state (
        source VARCHAR NOT NULL,
        item VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        signature VARCHAR NOT NULL,
        rows BIGINT,
        bytes BIGINT,
        synced_at TIMESTAMP,
        PRIMARY KEY (source, item)
    )""",
    """CREATE TABLE IF NOT EXISTS gold_tables (
        name VARCHAR PRIMARY KEY, source VARCHAR, format VARCHAR, rows BIGINT, synced_at TIMESTAMP
    )""",
    "CREATE SCHEMA IF NOT EXISTS gold",
]

# Each entry upgrades the store from version i to i + 1.
MIGRATIONS: list[list[str]] = [_V1]


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = 'meta'"
    ).fetchone()[0]
    if not exists:
        return 0
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Bring a writable store to the current schema version; returns the version it was at."""
    start = schema_version(con)
    if start > SCHEMA_VERSION:
        raise RuntimeError(
            f"the store has schema version {start}, newer than this Artemis ({SCHEMA_VERSION}); upgrade Artemis"
        )
    for version in range(start, SCHEMA_VERSION):
        con.execute("BEGIN")
        for statement in MIGRATIONS[version]:
            con.execute(statement)
        con.execute(
            "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(version + 1)]
        )
        con.execute("COMMIT")
    return start
