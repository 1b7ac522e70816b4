"""The DuckDB store's schema: tables, version and migrations applied on open."""

from __future__ import annotations

import duckdb

SCHEMA_VERSION = 5

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

# Rollups of ``contributions``, built at sync time (one run at a time, in the run's transaction) so that
# the Measure queries read thousands of rows instead of millions. Both are per run_id and brand; each
# keeps every column a query may filter or group on, so a query answered from a rollup gives the sums
# it would give on the base table. Only runs of more than one audience have rollups: the base rows of
# a run of one audience (or none: national) are already summed over audiences, and as few.
#
# contributions_national: summed over audiences, per date and variable (with the variable's labels).
#   Answers every question that neither filters nor groups by audience (1 / audiences of the rows).
# contributions_audience: summed over the variables of a channel, per audience, date, kind and channel
#   (a row per channel instead of one per variable), in audience order. Answers the questions that group
#   by audience or by nothing (KPIs), with or without a channel filter, for all audiences or a few (zone
#   maps skip the others), and lists a run's audiences. (Version 2 keyed it by kind only; version 3 added
#   the channel, so that a channel filter no longer sends by-audience questions to the base table.)
# The rest (a few audiences by a media label) read the base table, where zone maps skip the row groups
# of other audiences.
#
# Measures (the same in both): sums of contribution, spend, impressions, transactions, and
# ``contribution_seen``, the contribution of the rows that have impressions (for effectiveness).
# ``transactions`` is the target repeated on every variable row of a date × audience; the queries only
# ever sum it over the ``baseline`` rows (one per date × audience), and ``kind`` is a key of both
# rollups, so those sums are unchanged.
ROLLUPS: dict[str, tuple[str, ...]] = {
    "contributions_national": ("date", "variable", "channel", "channel_group", "pillar", "message_type", "kind",
                               "is_media_variable", "is_control_variable", "split"),
    "contributions_audience": ("audience", "date", "kind", "channel"),
}
_ROLLUP_ORDER = {"contributions_national": "", "contributions_audience": "audience"}  # within a run
_ROLLUP_MEASURES = """sum(contribution) AS contribution, sum(spend) AS spend, sum(impressions) AS impressions,
    sum(contribution) FILTER (WHERE impressions IS NOT NULL) AS contribution_seen,
    sum(transactions) AS transactions"""
# How many audiences some rows have (a NULL audience, national, counts as one); and the runs with rollups.
AUDIENCES = "count(DISTINCT audience) + (count(audience) < count(*))::INTEGER"
MULTI_AUDIENCE_RUNS = f"SELECT run_id FROM contributions GROUP BY run_id HAVING {AUDIENCES} > 1"
_COLUMN_TYPES = {"date": "DATE NOT NULL", "is_media_variable": "BOOLEAN", "is_control_variable": "BOOLEAN",
                 "variable": "VARCHAR NOT NULL"}


def _rollup_ddl(table: str, columns: tuple[str, ...] | None = None) -> str:
    keys = ", ".join(f"{c} {_COLUMN_TYPES.get(c, 'VARCHAR')}" for c in (columns or ROLLUPS[table]))
    return (f"CREATE TABLE IF NOT EXISTS {table} (run_id VARCHAR NOT NULL, brand VARCHAR NOT NULL, {keys}, "
            "contribution DOUBLE, spend DOUBLE, impressions DOUBLE, contribution_seen DOUBLE, transactions DOUBLE)")


def rollup_insert(table: str, one_run: bool = False, keys: tuple[str, ...] | None = None) -> str:
    """``INSERT INTO <rollup> SELECT ... FROM contributions GROUP BY ...``: of every run of more than one
    audience, or with ``one_run`` of the run whose (run_id, brand, run_id) are the parameters (its run_id
    and brand are then not grouped on, which makes the sync's build several times cheaper). Rows are in
    run order, and within a run in the rollup's order (for zone maps)."""
    keys, order = ", ".join(keys or ROLLUPS[table]), _ROLLUP_ORDER[table]
    if one_run:
        return (f"INSERT INTO {table} SELECT ?, ?, {keys}, {_ROLLUP_MEASURES} FROM contributions "
                f"WHERE run_id = ? GROUP BY {keys}" + (f" ORDER BY {order}" if order else ""))
    return (f"INSERT INTO {table} SELECT run_id, brand, {keys}, {_ROLLUP_MEASURES} FROM contributions "
            f"WHERE run_id IN ({MULTI_AUDIENCE_RUNS}) "
            f"GROUP BY run_id, brand, {keys} ORDER BY run_id" + (f", {order}" if order else ""))


_V2_ROLLUPS = {**ROLLUPS, "contributions_audience": ("audience", "date", "kind")}
_V2 = [*(_rollup_ddl(t, _V2_ROLLUPS[t]) for t in ROLLUPS), *(rollup_insert(t, keys=_V2_ROLLUPS[t]) for t in ROLLUPS)]
_V3 = ["DROP TABLE IF EXISTS contributions_audience", _rollup_ddl("contributions_audience"),
       rollup_insert("contributions_audience")]

# The run registry: a run's review status and notes (kept apart from ``runs``, which a sync rewrites), and
# every change with who made it and when.
_V4 = [
    """CREATE TABLE IF NOT EXISTS run_registry (
        run_id VARCHAR PRIMARY KEY, brand VARCHAR NOT NULL, status VARCHAR NOT NULL, notes VARCHAR,
        updated_at TIMESTAMP, updated_by VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS registry_log (
        run_id VARCHAR NOT NULL, brand VARCHAR NOT NULL, status VARCHAR, notes VARCHAR,
        changed_at TIMESTAMP, changed_by VARCHAR
    )""",
]

# Cross-validation results (``cv/{cv_id}/cv.json`` at a source): settings and the aggregate test scores,
# matched to runs of the same model on the same dataset (``model_key``, see store.cv_results).
_V5 = [
    """CREATE TABLE IF NOT EXISTS cv_results (
        cv_id VARCHAR PRIMARY KEY, brand VARCHAR, dataset_fingerprint VARCHAR, model_key VARCHAR,
        status VARCHAR, created_at TIMESTAMP, finished_at TIMESTAMP,
        folds INTEGER, folds_scored INTEGER, test_weeks INTEGER, step_weeks INTEGER,
        test_mape_mean DOUBLE, test_mape_sd DOUBLE, test_r2_mean DOUBLE, test_r2_sd DOUBLE,
        test_crps_pct_mean DOUBLE, test_crps_pct_sd DOUBLE, test_coverage_94_mean DOUBLE,
        mlflow_tracking_uri VARCHAR, mlflow_run_id VARCHAR, summary JSON, source VARCHAR, synced_at TIMESTAMP
    )""",
]

# Each entry upgrades the store from version i to i + 1.
MIGRATIONS: list[list[str]] = [_V1, _V2, _V3, _V4, _V5]

# Rows per row group of the tables a sync writes (DuckDB's default is 122,880). Zone maps (min / max per
# row group) are what lets a query on one run, or a few audiences of a run, skip the rest of a table; a
# per-audience run has about 10k rows per audience, so at this size a row group holds two or three
# audiences (smaller groups cost more per group read than they save). DuckDB applies it to the row
# groups written (and rewritten at checkpoint) by the connection that attached the file with it, so
# every writer opens the store with :func:`connect_writable`.
ROW_GROUP_SIZE = 30_720


def connect_writable(path) -> duckdb.DuckDBPyConnection:
    """A private DuckDB instance with the store file at ``path`` attached for writing (and in use)."""
    con = duckdb.connect(":memory:")
    literal = str(path).replace("'", "''")
    con.execute(f"ATTACH '{literal}' AS store (ROW_GROUP_SIZE {ROW_GROUP_SIZE})")
    con.execute("USE store")
    return con


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema = 'main' AND table_name = 'meta'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()  # (read to the end:
    return int(rows[0][0]) if rows else 0  # DuckDB 2 refuses some calls while a result is left unread)


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
