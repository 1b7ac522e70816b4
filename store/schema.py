"""The DuckDB store's schema: tables, version and migrations applied on open."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

SCHEMA_VERSION = 6

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
# the Measure queries read thousands of rows instead of millions. Each is per run_id and brand and keeps
# every column a query routed to it may filter or group on, so a query answered from a rollup gives the
# sums it would give on the base table. Only runs of more than one audience have rollups: the base rows
# of a run of one audience (or none: national) are already summed over audiences, and as few.
#
# contributions_national: summed over audiences, per date and variable (with the variable's labels).
#   Answers every question that neither filters nor groups by audience (1 / audiences of the rows).
# contributions_audience: per audience, date and kind group: the media rows summed over every variable,
#   the other rows over the kinds of one fixed group (four rows per audience and week), in audience order.
#   ``kind`` holds one kind of the group, which the queries map to the same group as any kind of it:
#   ``media``; ``baseline`` (kinds baseline and seasonality); ``holiday``; ``control`` (control, owned,
#   earned and any other kind; a NULL kind stays NULL, as the base table's channel filter treats it
#   apart). Answers the questions that group by audience or by nothing (KPIs) without a channel filter,
#   for all audiences or a few (zone maps skip the others), and lists a run's audiences.
# contributions_channel: as contributions_audience, by channel too (media rows: one per channel instead of
#   one in all; other rows: usually of no channel, as before), in audience order. Answers the questions with
#   a channel filter that group by audience or by nothing, and those with an audience filter too that group
#   by channel (zone maps skip the other audiences).
# The rest (a few audiences by a media label) read the base table, where zone maps skip the row groups
# of other audiences. (Version 2 keyed contributions_audience by audience, date and kind; version 3 by
# channel too, so that a channel filter no longer sent by-audience questions to the base table, at 18 rows
# per audience and week; version 6 split it in these two: four rows per audience and week without a channel
# filter, and the questions with one filter those of their audiences.) From version 6 the rollups also
# carry the numbers the queries group and filter on (``series_no``, ``audience_no``, ``kind_no``: see _V6).
#
# Measures (the same in all): sums of contribution, spend, impressions, transactions, and
# ``contribution_seen``, the contribution of the rows that have impressions (for effectiveness).
# ``transactions`` is the target repeated on every variable row of a date × audience; the queries only
# ever sum it over the ``baseline`` rows (one per date × audience). ``kind`` is a key of every rollup;
# in contributions_audience and contributions_channel, whose ``baseline`` rows hold the seasonality rows
# too, ``transactions`` leaves the seasonality rows out, so those sums are unchanged.


@dataclass(frozen=True)
class Rollup:
    """How a rollup sums ``contributions``: its keys (after run_id and brand) as (column, SQL on a contributions
    row) pairs, the SQL of its ``transactions`` measure, and its row order within a run (for zone maps)."""

    keys: tuple[tuple[str, str], ...]
    order: tuple[str, ...] = ()
    transactions: str = "sum(transactions)"

    @classmethod
    def of(cls, *columns: str, **kw) -> "Rollup":
        """A rollup keyed by these columns of contributions as they are."""
        return cls(tuple((c, c) for c in columns), **kw)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.keys)


# The kind group of a row, as one of its kinds (see contributions_audience above), and as a number (1 to 4).
KIND_GROUP = """CASE WHEN kind IS NULL THEN NULL WHEN kind = 'media' THEN 'media'
    WHEN kind IN ('baseline', 'seasonality') THEN 'baseline' WHEN kind = 'holiday' THEN 'holiday' ELSE 'control' END"""
KIND_GROUPS = ("media", "baseline", "holiday", "control")  # kind_no 1, 2, 3, 4
KIND_NO = f"list_position({list(KIND_GROUPS)}, {KIND_GROUP})"
# Leaves the seasonality rows out of the baseline rows' transactions (see above).
_TRANSACTIONS = "sum(transactions) FILTER (WHERE kind IS DISTINCT FROM 'seasonality')"
_NATIONAL = Rollup.of("date", "variable", "channel", "channel_group", "pillar", "message_type", "kind",
                      "is_media_variable", "is_control_variable", "split")
# A run's series: its distinct (variable, kind, channel, channel_group, pillar, message_type), numbered 1, 2, ...
# in that order (``series_no`` of contributions and contributions_national; ``run_series`` lists them).
SERIES = ("variable", "kind", "channel", "channel_group", "pillar", "message_type")
ROLLUPS: dict[str, Rollup] = {
    "contributions_national": Rollup((*_NATIONAL.keys, ("series_no", "series_no"))),
    "contributions_audience": Rollup((("audience", "audience"), ("audience_no", "audience_no"), ("date", "date"),
                                      ("kind", KIND_GROUP), ("kind_no", KIND_NO)),
                                     order=("audience", "date"), transactions=_TRANSACTIONS),
    "contributions_channel": Rollup((("audience", "audience"), ("audience_no", "audience_no"), ("channel", "channel"),
                                     ("date", "date"), ("kind", KIND_GROUP), ("kind_no", KIND_NO)),
                                    order=("audience", "date"), transactions=_TRANSACTIONS),
}
# How many audiences some rows have (a NULL audience, national, counts as one); and the runs with rollups.
AUDIENCES = "count(DISTINCT audience) + (count(audience) < count(*))::INTEGER"
MULTI_AUDIENCE_RUNS = f"SELECT run_id FROM contributions GROUP BY run_id HAVING {AUDIENCES} > 1"
_COLUMN_TYPES = {"date": "DATE NOT NULL", "is_media_variable": "BOOLEAN", "is_control_variable": "BOOLEAN",
                 "variable": "VARCHAR NOT NULL", "audience_no": "INTEGER", "series_no": "INTEGER",
                 "kind_no": "INTEGER"}


def _rollup_ddl(table: str, spec: Rollup | None = None) -> str:
    keys = ", ".join(f"{c} {_COLUMN_TYPES.get(c, 'VARCHAR')}" for c in (spec or ROLLUPS[table]).columns)
    return (f"CREATE TABLE IF NOT EXISTS {table} (run_id VARCHAR NOT NULL, brand VARCHAR NOT NULL, {keys}, "
            "contribution DOUBLE, spend DOUBLE, impressions DOUBLE, contribution_seen DOUBLE, transactions DOUBLE)")


def rollup_select(spec: Rollup, where: str = "TRUE", one_run: bool = False) -> str:
    """``SELECT run_id, brand, <keys>, <measures> FROM contributions WHERE <where> GROUP BY ...`` of a rollup
    (unordered): what it holds of the rows ``where`` selects. With ``one_run``, of the run whose
    (run_id, brand) are the first parameters, not grouped on (which makes the sync's build several times
    cheaper)."""
    select = ", ".join(e if e == c else f"{e} AS {c}" for c, e in spec.keys)
    return (f"SELECT {'?, ?' if one_run else 'run_id, brand'}, {select}, sum(contribution) AS contribution, "
            "sum(spend) AS spend, sum(impressions) AS impressions, "
            "sum(contribution) FILTER (WHERE impressions IS NOT NULL) AS contribution_seen, "
            f"{spec.transactions} AS transactions FROM contributions WHERE {where} "
            f"GROUP BY {'' if one_run else 'run_id, brand, '}{', '.join(e for _, e in spec.keys)}")


def rollup_insert(table: str, one_run: bool = False, spec: Rollup | None = None) -> str:
    """``INSERT INTO <rollup> SELECT ... FROM contributions GROUP BY ...``: of every run of more than one
    audience, or with ``one_run`` of the run whose (run_id, brand, run_id) are the parameters. Rows are in
    run order, and within a run in the rollup's order (for zone maps)."""
    spec = spec or ROLLUPS[table]
    if one_run:
        return (f"INSERT INTO {table} {rollup_select(spec, 'run_id = ?', one_run=True)}"
                + (f" ORDER BY {', '.join(spec.order)}" if spec.order else ""))
    return (f"INSERT INTO {table} {rollup_select(spec, f'run_id IN ({MULTI_AUDIENCE_RUNS})')} "
            f"ORDER BY {', '.join(('run_id', *spec.order))}")


# The rollups as versions 2 and 3 defined them (each migration builds what its version had).
_V2_ROLLUPS = {"contributions_national": _NATIONAL,
               "contributions_audience": Rollup.of("audience", "date", "kind", order=("audience",))}
_V2 = [*(_rollup_ddl(t, s) for t, s in _V2_ROLLUPS.items()),
       *(rollup_insert(t, spec=s) for t, s in _V2_ROLLUPS.items())]
_V3_AUDIENCE = Rollup.of("audience", "date", "kind", "channel", order=("audience",))
_V3 = ["DROP TABLE IF EXISTS contributions_audience", _rollup_ddl("contributions_audience", _V3_AUDIENCE),
       rollup_insert("contributions_audience", spec=_V3_AUDIENCE)]

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

# Version 6: small integers for what the queries group and filter on, which DuckDB compares, and sums by
# (perfect hash aggregation), several times cheaper than text; the text comes back from small tables.
# * ``run_audiences``: one row per audience of a run's contributions (NULL for a national run) with its first
#   and last date; the audiences are numbered 1, 2, ... within the run in their sort order (DuckDB's, by
#   bytes; NULL has no number): ``audience_no`` of contributions and of the audience rollups. A run's rows are
#   in audience order, so zone maps bound audience numbers exactly.
# * ``run_series``: a run's series (see SERIES) with their numbers, ``series_no`` of contributions and
#   contributions_national.
# * ``kind_no`` of the audience rollups: the kind group's place in KIND_GROUPS.
# And contributions_audience by kind group instead of kind and channel, with contributions_channel (ROLLUPS).
RUN_AUDIENCES = """CREATE TABLE IF NOT EXISTS run_audiences (
    run_id VARCHAR NOT NULL, brand VARCHAR NOT NULL, audience_no INTEGER, audience VARCHAR,
    first_date DATE, last_date DATE)"""
RUN_SERIES = f"""CREATE TABLE IF NOT EXISTS run_series (
    run_id VARCHAR NOT NULL, series_no INTEGER NOT NULL, {', '.join(f'{c} VARCHAR' for c in SERIES)})"""
# Number the rows of contributions of the runs ``{where}`` selects, and list their audiences and series (in
# this order; ``contributions.{where}`` qualifies the columns of the condition).
AUDIENCE_UPDATE = """UPDATE contributions SET audience_no = a.audience_no
    FROM (SELECT run_id, audience, dense_rank() OVER (PARTITION BY run_id ORDER BY audience) AS audience_no
          FROM (SELECT DISTINCT run_id, audience FROM contributions WHERE {where} AND audience IS NOT NULL)) a
    WHERE a.run_id = contributions.run_id AND a.audience = contributions.audience AND contributions.{where}"""
RUN_AUDIENCES_INSERT = """INSERT INTO run_audiences
    SELECT run_id, brand, audience_no, audience, min(date), max(date) FROM contributions WHERE {where}
    GROUP BY run_id, brand, audience_no, audience ORDER BY run_id, audience"""
RUN_SERIES_INSERT = f"""INSERT INTO run_series
    SELECT run_id, dense_rank() OVER (PARTITION BY run_id ORDER BY {', '.join(SERIES)}), {', '.join(SERIES)}
    FROM (SELECT DISTINCT run_id, {', '.join(SERIES)} FROM contributions WHERE {{where}})
    ORDER BY run_id, {', '.join(SERIES)}"""
SERIES_UPDATE = f"""UPDATE contributions SET series_no = s.series_no FROM run_series s
    WHERE s.run_id = contributions.run_id
    AND {' AND '.join(f's.{c} IS NOT DISTINCT FROM contributions.{c}' for c in SERIES)}
    AND contributions.{{where}}"""
# (_V6 builds the rollups as ROLLUPS defines them: a version that changes ROLLUPS freezes these, as _V2 and _V3.)
_V6 = ["ALTER TABLE contributions ADD COLUMN IF NOT EXISTS audience_no INTEGER",
       "ALTER TABLE contributions ADD COLUMN IF NOT EXISTS series_no INTEGER",
       RUN_AUDIENCES, RUN_SERIES, AUDIENCE_UPDATE.format(where="run_id IS NOT NULL"),
       RUN_AUDIENCES_INSERT.format(where="TRUE"), RUN_SERIES_INSERT.format(where="TRUE"),
       SERIES_UPDATE.format(where="run_id IS NOT NULL"),
       *(f"DROP TABLE IF EXISTS {t}" for t in ROLLUPS), *(_rollup_ddl(t) for t in ROLLUPS),
       *(rollup_insert(t) for t in ROLLUPS)]

# Each entry upgrades the store from version i to i + 1.
MIGRATIONS: list[list[str]] = [_V1, _V2, _V3, _V4, _V5, _V6]

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
