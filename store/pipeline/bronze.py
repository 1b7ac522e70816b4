"""Landing rows -> bronze: the config's schema mapping (source names to canonical names and types), written
as Parquet partitioned by year, month and landing file (``bronze/{entity}/year=/month=/file=``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa

from store.pipeline.config import CANONICAL, TYPES, Entity
from store.pipeline.engine import Engine
from store.pipeline.landing import LandingFile

PARTITIONS = ["year", "month", "file"]
ARROW_TYPES = {"string": pa.string(), "date": pa.date32(), "decimal": pa.decimal128(18, 2),
               "number": pa.decimal128(18, 4), "integer": pa.int64()}


def canonical_columns(entity: Entity) -> list[tuple[str, str]]:
    """(name, type) of every bronze column of the entity, in order: the kind's canonical columns (those the
    config does not map are NULL), then a control entity's variables."""
    cols = [(name, t) for name, (t, _) in CANONICAL[entity.kind].items()]
    return cols + [(c.name, c.type) for c in entity.values]


def bronze_schema(entity: Entity) -> pa.Schema:
    return pa.schema([(n, ARROW_TYPES[t]) for n, t in canonical_columns(entity)]
                     + [(p, pa.string()) for p in PARTITIONS])


def typed_sql(entity: Entity, q, landing_view: str) -> str:
    """Each canonical column cast from its source column (NULL where the cell does not parse), next to the
    raw cell as ``{name}__raw`` for the type rule and the quarantine report."""
    out = ["_file"]
    for name, t in canonical_columns(entity):
        col = entity.column(name)
        if col is None:
            out.append(f"CAST(NULL AS {TYPES[t]}) AS {name}")
            out.append(f"CAST(NULL AS STRING) AS {name}__raw")
            continue
        src = q(col.source)
        if t == "string":
            out.append(f"NULLIF(TRIM(CAST({src} AS STRING)), '') AS {name}")
        elif t == "integer":  # through DECIMAL: '12' and '12.0' are 12, '12.5' is not an integer (both engines)
            d = f"TRY_CAST({src} AS DECIMAL(38,6))"
            out.append(f"CASE WHEN FLOOR({d}) = {d} THEN CAST({d} AS BIGINT) END AS {name}")
        else:
            out.append(f"TRY_CAST({src} AS {TYPES[t]}) AS {name}")
        out.append(f"{src} AS {name}__raw")
    return f"SELECT {', '.join(out)} FROM {landing_view}"


def bronze_sql(entity: Entity, typed_view: str) -> str:
    cols = ", ".join(n for n, _ in canonical_columns(entity))
    return (f"SELECT {cols}, CAST(year(date) AS STRING) AS year, CAST(month(date) AS STRING) AS month, "
            f"_file AS file FROM {typed_view}")


def write_bronze(engine: Engine, entity: Entity, typed_view: str, files: list[LandingFile], bronze: Path,
                 tmp: Path) -> None:
    """Write the batch to a temporary folder, then swap each landing file's partitions in (a file seen
    before is replaced, never appended twice)."""
    shutil.rmtree(tmp, ignore_errors=True)
    engine.write_partitioned(bronze_sql(entity, typed_view), tmp, PARTITIONS)
    target = bronze / entity.name
    for f in files:
        for old in target.glob(f"year=*/month=*/file={f.key}"):
            shutil.rmtree(old)
    for new in sorted(tmp.glob("year=*/month=*/file=*")):
        dest = target / new.relative_to(tmp)
        dest.parent.mkdir(parents=True, exist_ok=True)
        new.rename(dest)
    shutil.rmtree(tmp, ignore_errors=True)


def register_bronze(engine: Engine, entity: Entity, bronze: Path, view: str) -> None:
    engine.register_parquet(view, bronze / entity.name, bronze_schema(entity))
