"""Load and check a pipeline config folder: ``pipeline.yaml`` plus one YAML per entity.

Every problem is a :class:`ConfigError` naming the file and the field; the config is checked in full
before the pipeline reads or writes anything.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

PIPELINE_FILE = "pipeline.yaml"
ENGINES = ("duckdb", "spark")
OUTPUT_FORMATS = ("delta", "parquet")
KINDS = ("media", "sales", "control")
TAXONOMY_KINDS = ("media", "owned", "earned")
SIGNALS = ("spend", "impressions")
AGGREGATES = ("mean", "sum")
# Config types -> SQL types that DuckDB and Spark SQL both know. Money is exact (DECIMAL), so sums are
# the same in any order and both engines give identical gold tables.
TYPES = {"string": "STRING", "date": "DATE", "decimal": "DECIMAL(18,2)", "number": "DECIMAL(18,4)",
         "integer": "BIGINT"}
NUMERIC_TYPES = ("decimal", "number", "integer")
# Canonical columns per entity kind: name -> (type, required in the mapping). Control entities add
# their own numeric columns, one per control variable.
CANONICAL: dict[str, dict[str, tuple[str, bool]]] = {
    "media": {"date": ("date", True), "channel": ("string", True), "platform": ("string", False),
              "tactic": ("string", False), "campaign": ("string", False), "message_type": ("string", True),
              "audience": ("string", False), "spend": ("decimal", False), "impressions": ("integer", False)},
    "sales": {"date": ("date", True), "region": ("string", False), "transactions": ("integer", True)},
    "control": {"date": ("date", True), "region": ("string", False)},
}
REFERENCE_TARGETS = ("taxonomy", "channels", "message_types", "audiences")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class ConfigError(ValueError):
    """A config problem, naming the file and the field."""

    def __init__(self, file: str | Path, field_: str | None, message: str):
        self.file, self.field, self.message = str(file), field_, message
        where = f"{self.file}, field '{field_}'" if field_ else self.file
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Column:
    name: str  # canonical
    source: str  # as named in the landing files
    type: str  # a key of TYPES
    aggregate: str | None = None  # control variables: how days and regions make a week


@dataclass(frozen=True)
class Reference:
    columns: tuple[str, ...]
    to: str  # a REFERENCE_TARGETS name


@dataclass(frozen=True)
class Rules:
    required: tuple[str, ...] = ()
    unique: tuple[str, ...] = ()
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    references: tuple[Reference, ...] = ()
    freshness: tuple[str, int] | None = None  # (column, max age in days before as_of)


@dataclass(frozen=True)
class Entity:
    name: str
    kind: str
    file: Path
    landing: str  # glob under the landing folder
    columns: tuple[Column, ...]
    rules: Rules
    grain: str = "daily"  # sales: "daily" or "weekly" (weeks with fewer than 7 days of daily sales are partial)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def values(self) -> tuple[Column, ...]:
        """A control entity's variables."""
        return tuple(c for c in self.columns if c.name not in CANONICAL[self.kind])


@dataclass(frozen=True)
class TaxonomyRow:
    variable: str
    kind: str  # media | owned | earned
    channel: str
    message_type: str
    channel_group: str
    pillar: str
    signal: str  # media: spend | impressions; owned/earned: impressions (the volume)


@dataclass(frozen=True)
class TrainingSpec:
    path: str  # local folder or s3://bucket/prefix
    brand: str
    brand_id: str
    target: str = "total_transactions"


@dataclass(frozen=True)
class PipelineConfig:
    dir: Path
    engine: str
    landing: Path
    work: Path
    output: str  # local folder or s3://bucket/prefix
    output_format: str
    as_of: dt.date | None
    audiences: tuple[str, ...]
    taxonomy: tuple[TaxonomyRow, ...]
    training: TrainingSpec | None
    entities: tuple[Entity, ...]
    storage_options: dict[str, str] = field(default_factory=dict)

    def entity(self, name: str) -> Entity:
        return next(e for e in self.entities if e.name == name)

    @property
    def controls(self) -> tuple[Column, ...]:
        return tuple(c for e in self.entities if e.kind == "control" for c in e.values)


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(path, None, f"not valid YAML ({e})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(path, None, f"cannot be read ({e})") from None
    if not isinstance(data, dict):
        raise ConfigError(path, None, "must be a mapping (key: value lines)")
    return data


def _str(file, data: dict, key: str, default=None, choices=None, where: str | None = None) -> str:
    name = where or key
    value = data.get(key, default)
    if value is None:
        raise ConfigError(file, name, "is required")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(file, name, f"must be a non-empty text, got {value!r}")
    if choices and value not in choices:
        raise ConfigError(file, name, f"must be one of {', '.join(choices)}, got {value!r}")
    return value.strip()


def _unknown(file, data: dict, allowed: set[str], where: str = "") -> None:
    for key in data:
        if key not in allowed:
            raise ConfigError(file, f"{where}{key}", f"unknown field (expected one of: {', '.join(sorted(allowed))})")


def _path(base: Path, value: str) -> str:
    if value.startswith("s3://"):
        return value.rstrip("/")
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else (base / p).resolve())


def load_config(config_dir: str | Path) -> PipelineConfig:
    """Read ``pipeline.yaml`` and every other ``*.yaml`` of the folder (one entity each)."""
    base = Path(config_dir).expanduser().resolve()
    if not base.is_dir():
        raise ConfigError(base, None, "config folder not found")
    pfile = base / PIPELINE_FILE
    if not pfile.is_file():
        raise ConfigError(pfile, None, "file missing (every config folder needs a pipeline.yaml)")
    data = _read_yaml(pfile)
    _unknown(pfile, data, {"engine", "paths", "output_format", "as_of", "audiences", "taxonomy",
                           "training_dataset", "storage_options"})
    engine = _str(pfile, data, "engine", "duckdb", ENGINES)
    output_format = _str(pfile, data, "output_format", "delta", OUTPUT_FORMATS)
    paths = data.get("paths")
    if not isinstance(paths, dict):
        raise ConfigError(pfile, "paths", "is required: a mapping with landing, work and output")
    _unknown(pfile, paths, {"landing", "work", "output"}, "paths.")
    landing = _path(base, _str(pfile, paths, "landing", where="paths.landing"))
    work = _path(base, _str(pfile, paths, "work", where="paths.work"))
    output = _path(base, _str(pfile, paths, "output", where="paths.output"))
    for key, value in (("landing", landing), ("work", work)):
        if value.startswith("s3://"):
            raise ConfigError(pfile, f"paths.{key}", "must be a local folder (only output may be on S3)")
    as_of = data.get("as_of")
    if as_of is not None:
        if isinstance(as_of, str):
            try:
                as_of = dt.date.fromisoformat(as_of)
            except ValueError:
                raise ConfigError(pfile, "as_of", f"must be a date YYYY-MM-DD, got {as_of!r}") from None
        if not isinstance(as_of, dt.date):
            raise ConfigError(pfile, "as_of", f"must be a date YYYY-MM-DD, got {as_of!r}")
    audiences = data.get("audiences", [])
    if not isinstance(audiences, list) or not all(isinstance(a, str) and a.strip() for a in audiences):
        raise ConfigError(pfile, "audiences", "must be a list of names")
    storage = data.get("storage_options", {}) or {}
    if not isinstance(storage, dict):
        raise ConfigError(pfile, "storage_options", "must be a mapping of option: value")
    taxonomy = _taxonomy(pfile, data.get("taxonomy"))
    training = None
    if data.get("training_dataset") is not None:
        t = data["training_dataset"]
        if not isinstance(t, dict):
            raise ConfigError(pfile, "training_dataset", "must be a mapping with path, brand, brand_id")
        _unknown(pfile, t, {"path", "brand", "brand_id", "target"}, "training_dataset.")
        training = TrainingSpec(
            path=_path(base, _str(pfile, t, "path", where="training_dataset.path")),
            brand=_str(pfile, t, "brand", where="training_dataset.brand"),
            brand_id=_str(pfile, t, "brand_id", where="training_dataset.brand_id"),
            target=_str(pfile, t, "target", "total_transactions", where="training_dataset.target"))

    entities = []
    for efile in sorted(base.glob("*.yaml")):
        if efile.name != PIPELINE_FILE:
            entities.append(_entity(efile, taxonomy, audiences))
    if not entities:
        raise ConfigError(base, None, "no entity YAML next to pipeline.yaml (one file per entity, e.g. paid_media.yaml)")
    names = [e.name for e in entities]
    for e in entities:
        if names.count(e.name) > 1:
            raise ConfigError(e.file, "entity", f"name {e.name!r} is used by more than one file")
    controls = [c.name for e in entities if e.kind == "control" for c in e.values]
    for e in entities:
        if e.kind == "control":
            for c in e.values:
                if controls.count(c.name) > 1:
                    raise ConfigError(e.file, f"columns.{c.name}", "control variable named by more than one entity")
                if c.name in {t.variable for t in taxonomy}:
                    raise ConfigError(e.file, f"columns.{c.name}", "control variable has the name of a taxonomy variable")
    if training is not None:
        kinds = {e.kind for e in entities}
        for need in ("media", "sales"):
            if need not in kinds:
                raise ConfigError(pfile, "training_dataset", f"needs an entity of kind {need!r}")
    return PipelineConfig(dir=base, engine=engine, landing=Path(landing), work=Path(work), output=output,
                          output_format=output_format, as_of=as_of, audiences=tuple(a.strip() for a in audiences),
                          taxonomy=taxonomy, training=training, entities=tuple(entities),
                          storage_options={str(k): str(v) for k, v in storage.items()})


def _taxonomy(pfile: Path, rows) -> tuple[TaxonomyRow, ...]:
    if not isinstance(rows, list) or not rows:
        raise ConfigError(pfile, "taxonomy", "is required: a list of media variables (channel, message_type, "
                                             "channel_group, pillar, ...)")
    out: list[TaxonomyRow] = []
    seen: dict[tuple[str, str], int] = {}
    for i, row in enumerate(rows):
        where = f"taxonomy[{i}]"
        if not isinstance(row, dict):
            raise ConfigError(pfile, where, "must be a mapping")
        _unknown(pfile, row, {"variable", "kind", "channel", "message_type", "channel_group", "pillar", "signal"},
                 where + ".")
        kind = _str(pfile, row, "kind", "media", TAXONOMY_KINDS, where=f"{where}.kind")
        channel = _str(pfile, row, "channel", where=f"{where}.channel")
        message_type = _str(pfile, row, "message_type", where=f"{where}.message_type")
        signal = _str(pfile, row, "signal", "spend" if kind == "media" else "impressions", SIGNALS,
                      where=f"{where}.signal")
        variable = _str(pfile, row, "variable", f"{channel}_{message_type}", where=f"{where}.variable")
        key = (channel, message_type)
        if key in seen:
            raise ConfigError(pfile, where, f"channel {channel!r} with message type {message_type!r} is already "
                                            f"taxonomy[{seen[key]}]")
        if variable in {t.variable for t in out}:
            raise ConfigError(pfile, f"{where}.variable", f"variable {variable!r} is listed twice")
        seen[key] = i
        out.append(TaxonomyRow(variable, kind, channel, message_type,
                               _str(pfile, row, "channel_group", where=f"{where}.channel_group"),
                               _str(pfile, row, "pillar", where=f"{where}.pillar"), signal))
    return tuple(out)


def _entity(efile: Path, taxonomy, audiences) -> Entity:
    data = _read_yaml(efile)
    _unknown(efile, data, {"entity", "kind", "landing", "columns", "quality", "grain"})
    name = _str(efile, data, "entity")
    if not _NAME.match(name):
        raise ConfigError(efile, "entity", f"must be lower-case letters, digits and _ (starting with a letter), got {name!r}")
    kind = _str(efile, data, "kind", choices=KINDS)
    landing = _str(efile, data, "landing", f"{name}/*")
    grain = _str(efile, data, "grain", "daily", ("daily", "weekly"))
    cols = data.get("columns")
    if not isinstance(cols, dict) or not cols:
        raise ConfigError(efile, "columns", "is required: canonical name -> {source: landing column, type: ...}")
    canonical = CANONICAL[kind]
    columns: list[Column] = []
    sources: dict[str, str] = {}
    for cname, spec in cols.items():
        where = f"columns.{cname}"
        if not isinstance(cname, str) or not _NAME.match(cname):
            raise ConfigError(efile, where, "canonical names are lower-case letters, digits and _")
        if isinstance(spec, str):
            spec = {"source": spec}
        if not isinstance(spec, dict):
            raise ConfigError(efile, where, "must be a mapping {source: ..., type: ...} or the source column name")
        _unknown(efile, spec, {"source", "type", "aggregate"}, where + ".")
        source = _str(efile, spec, "source", where=f"{where}.source")
        if source in sources:
            raise ConfigError(efile, f"{where}.source", f"landing column {source!r} is already mapped to {sources[source]!r}")
        sources[source] = cname
        if cname in canonical:
            expected = canonical[cname][0]
            ctype = _str(efile, spec, "type", expected, TYPES, where=f"{where}.type")
            if ctype != expected:
                raise ConfigError(efile, f"{where}.type", f"{cname!r} of a {kind} entity is of type {expected!r}, got {ctype!r}")
            if "aggregate" in spec:
                raise ConfigError(efile, f"{where}.aggregate", "only control variables have an aggregate")
            columns.append(Column(cname, source, ctype))
        elif kind == "control":
            ctype = _str(efile, spec, "type", "number", NUMERIC_TYPES, where=f"{where}.type")
            agg = _str(efile, spec, "aggregate", "mean", AGGREGATES, where=f"{where}.aggregate")
            columns.append(Column(cname, source, ctype, agg))
        else:
            raise ConfigError(efile, where, f"not a column of a {kind} entity (expected: {', '.join(canonical)})")
    mapped = {c.name for c in columns}
    for cname, (_, required) in canonical.items():
        if required and cname not in mapped:
            raise ConfigError(efile, f"columns.{cname}", f"is required for a {kind} entity")
    if kind == "media" and not mapped & {"spend", "impressions"}:
        raise ConfigError(efile, "columns", "a media entity maps spend, impressions or both")
    if kind == "control" and not any(c.name not in canonical for c in columns):
        raise ConfigError(efile, "columns", "a control entity maps at least one numeric variable (e.g. avg_temperature_f)")
    rules = _rules(efile, data.get("quality") or {}, mapped, audiences)
    return Entity(name, kind, efile, landing, tuple(columns), rules, grain)


def _cols(efile, value, mapped: set[str], where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(efile, where, "must be a list of canonical column names")
    for v in value:
        if v not in mapped:
            raise ConfigError(efile, where, f"column {v!r} is not in columns")
    return tuple(value)


def _rules(efile: Path, q, mapped: set[str], audiences) -> Rules:
    if not isinstance(q, dict):
        raise ConfigError(efile, "quality", "must be a mapping of rules")
    _unknown(efile, q, {"required", "unique", "ranges", "references", "freshness"}, "quality.")
    required = _cols(efile, q["required"], mapped, "quality.required") if "required" in q else ()
    unique = _cols(efile, q["unique"], mapped, "quality.unique") if "unique" in q else ()
    ranges: dict[str, tuple[float | None, float | None]] = {}
    for col, bounds in (q.get("ranges") or {}).items():
        where = f"quality.ranges.{col}"
        if col not in mapped:
            raise ConfigError(efile, where, f"column {col!r} is not in columns")
        if not isinstance(bounds, dict) or not bounds or set(bounds) - {"min", "max"}:
            raise ConfigError(efile, where, "must be a mapping with min, max or both")
        for k, v in bounds.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ConfigError(efile, f"{where}.{k}", f"must be a number, got {v!r}")
        ranges[col] = (bounds.get("min"), bounds.get("max"))
    refs = []
    raw_refs = q.get("references") or []
    if not isinstance(raw_refs, list):
        raise ConfigError(efile, "quality.references", "must be a list of {columns: [...], to: ...}")
    for i, r in enumerate(raw_refs):
        where = f"quality.references[{i}]"
        if not isinstance(r, dict):
            raise ConfigError(efile, where, "must be a mapping {columns: [...], to: ...}")
        _unknown(efile, r, {"columns", "to"}, where + ".")
        to = _str(efile, r, "to", choices=REFERENCE_TARGETS, where=f"{where}.to")
        columns = _cols(efile, r.get("columns"), mapped, f"{where}.columns")
        need = {"taxonomy": 2, "channels": 1, "message_types": 1, "audiences": 1}[to]
        if len(columns) != need:
            raise ConfigError(efile, f"{where}.columns", f"a reference to {to} names {need} column(s)"
                                                         + (" (channel, message_type)" if need == 2 else ""))
        if to == "audiences" and not audiences:
            raise ConfigError(efile, f"{where}.to", "pipeline.yaml lists no audiences")
        refs.append(Reference(columns, to))
    fresh = None
    if q.get("freshness") is not None:
        f = q["freshness"]
        if not isinstance(f, dict):
            raise ConfigError(efile, "quality.freshness", "must be a mapping {column: date, max_age_days: N}")
        _unknown(efile, f, {"column", "max_age_days"}, "quality.freshness.")
        col = _str(efile, f, "column", "date", where="quality.freshness.column")
        if col not in mapped:
            raise ConfigError(efile, "quality.freshness.column", f"column {col!r} is not in columns")
        days = f.get("max_age_days")
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise ConfigError(efile, "quality.freshness.max_age_days", f"must be a whole number of days >= 0, got {days!r}")
        fresh = (col, days)
    return Rules(required, unique, ranges, tuple(refs), fresh)
