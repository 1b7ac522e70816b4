"""Loading and validating a dataset folder."""

# The rules are those of docs/data-contract.md ("Training input"). Every violation is collected
# and raised together as one DatasetError; nothing is ever written anywhere (the files are read
# into memory, locally or from S3, and parsed there).

from __future__ import annotations

import csv
import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

MEDIA_PRIOR_PARAMETERS = {
    "cost_per_transaction",
    "adstock_decay",
    "half_saturation",
    "hill_slope",
    "saturation_lambda",
}
OTHER_PRIOR_PARAMETERS = {"coefficient"}  # for control / holiday / owned / earned variables
PRIOR_COLUMNS = ["variable", "parameter", "mu", "sigma", "lower", "upper"]  # lower/upper may be empty

KINDS = ("media", "control", "holiday", "owned", "earned")
CONTROL_KINDS = ("control", "owned", "earned")
SIGNALS = ("spend", "impressions")
TAXONOMY_COLUMNS = ["variable", "kind", "channel", "channel_group", "pillar", "message_type", "signal"]
DATE_COLUMN = "date"
AUDIENCE_COLUMN = "audience"
TRAINING_FILES = ("training.csv", "training.parquet")
TAXONOMY_FILE = "taxonomy.csv"
PRIORS_FILE = "priors.csv"
META_FILE = "dataset.yaml"

MAX_ROWS_PER_RULE = 5  # per column and rule, rows named one by one before "and N more"
_MISSING_STRINGS = {"", "nan", "na", "n/a", "null", "none", "nat", "<na>"}
_DAY = np.timedelta64(1, "D")


@dataclass(frozen=True)
class Problem:
    file: str
    message: str
    column: str | None = None
    row: int | None = None  # 1-based line as a spreadsheet user sees it: header = 1, first data row = 2
    date: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.column is not None:
            where += f", column '{self.column}'"
        if self.row is not None:
            where += f", line {self.row}"
        if self.date is not None:
            where += f" ({self.date})"
        return f"{where}: {self.message}"


class DatasetError(Exception):
    """Every problem found in a dataset, raised together."""

    def __init__(self, problems: list[Problem], path: str | None = None):
        super().__init__(problems, path)
        self.problems = list(problems)
        self.path = path

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'' if n == 1 else 's'} in dataset"
        if self.path is not None:
            head += f" {self.path}"
        return "\n".join([head + ":"] + [f"- {p}" for p in self.problems])


@dataclass
class Dataset:
    path: str
    training: pd.DataFrame
    taxonomy: pd.DataFrame
    priors: pd.DataFrame
    target: str
    media: list[str]
    signal: dict[str, str]
    controls: list[str]
    holidays: list[str]
    kinds: dict[str, str]
    audiences: list[str] | None
    dropped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fingerprint: str = ""
    meta: dict = field(default_factory=dict)


def load_dataset(path: str | Path, target: str = "total_transactions") -> Dataset:
    """Read and validate the dataset folder at ``path`` (local or ``s3://bucket/prefix/``).

    Raises DatasetError listing every problem found; returns the validated Dataset otherwise.
    """
    return _Loader(str(path), target).load()


# --------------------------------------------------------------------------------------------
# Sources: bytes of a named file in the folder, or None when it is absent.


class _SourceError(Exception):
    pass


class _LocalSource:
    def __init__(self, path: str):
        self.root = Path(path)

    def check(self) -> str | None:
        if not self.root.exists():
            return "dataset folder not found"
        if not self.root.is_dir():
            return "not a folder"
        return None

    def read(self, name: str) -> bytes | None:
        p = self.root / name
        return p.read_bytes() if p.is_file() else None


class _S3Source:
    def __init__(self, url: str):
        rest = url[len("s3://"):]
        bucket, _, prefix = rest.partition("/")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._client = None

    def check(self) -> str | None:
        return None if self.bucket else "no bucket in the s3:// path"

    @property
    def client(self):
        if self._client is None:
            import boto3

            self._client = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
        return self._client

    def read(self, name: str) -> bytes | None:
        from botocore.exceptions import BotoCoreError, ClientError

        key = self.prefix + name
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as e:
            code = str(e.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404", "NotFound"):
                return None
            raise _SourceError(f"cannot read s3://{self.bucket}/{key}: {e}") from e
        except BotoCoreError as e:
            raise _SourceError(f"cannot read s3://{self.bucket}/{key}: {e}") from e


# --------------------------------------------------------------------------------------------
# Cell parsing helpers (CSV cells arrive as text; parquet columns may already be typed).


def _as_text(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Stripped text of every cell, and where the cell is missing."""
    values = s.to_numpy(dtype=object)
    text = np.array(["" if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT
                     else str(v).strip() for v in values], dtype=object)
    missing = np.array([t.lower() in _MISSING_STRINGS for t in text], dtype=bool)
    return text, missing


def _to_numbers(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(float values with NaN where not usable, missing mask, non-numeric mask, cell text)."""
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        values = s.to_numpy(dtype="float64", na_value=np.nan).copy()
        missing = np.isnan(values)
        bad = np.isinf(values)
        text = np.array([str(v) for v in values], dtype=object)
    else:
        text, missing = _as_text(s)
        parsed = pd.to_numeric(pd.Series(np.where(missing, None, text), dtype=object), errors="coerce")
        values = parsed.to_numpy(dtype="float64", na_value=np.nan).copy()
        bad = ~missing & ~np.isfinite(values)
    values[bad | missing] = np.nan
    return values, missing, bad, text


def _to_dates(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(datetime64[ns] values with NaT where not usable, missing mask, unparseable mask, cell text)."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        d = pd.to_datetime(s)
        if getattr(d.dt, "tz", None) is not None:
            d = d.dt.tz_localize(None)
        values = d.to_numpy(dtype="datetime64[ns]")
        missing = np.isnat(values)
        return values, missing, np.zeros(len(s), dtype=bool), np.array([str(v) for v in values], dtype=object)
    text, missing = _as_text(s)
    cells = pd.Series(np.where(missing, None, text), dtype=object)
    try:  # fast path; mixed time zones and the like make it raise, then parse cell by cell
        d = pd.to_datetime(cells, format="ISO8601", errors="coerce")
        if d.dt.tz is not None:
            d = d.dt.tz_localize(None)
        out = d.to_numpy(dtype="datetime64[ns]")
    except (ValueError, TypeError, OverflowError):
        out = np.full(len(s), np.datetime64("NaT"), dtype="datetime64[ns]")
        for i, t in enumerate(text):
            if missing[i]:
                continue
            try:
                ts = pd.Timestamp(pd.to_datetime(t, format="ISO8601"))
                out[i] = (ts.tz_localize(None) if ts.tzinfo is not None else ts).to_datetime64()
            except (ValueError, TypeError, OverflowError):
                pass
    bad = ~missing & np.isnat(out)
    return out, missing, bad, text


def _day(d: np.datetime64) -> str:
    return str(np.datetime_as_string(d, unit="D"))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# --------------------------------------------------------------------------------------------


@dataclass
class _Var:
    name: str
    kind: str
    signal: str  # "" for non-media
    line: int


class _Loader:
    def __init__(self, path: str, target: str):
        self.path = path
        self.target = target
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        self.source = _S3Source(path) if path.startswith("s3://") else _LocalSource(path)
        self.all_names: set[str] = set()  # every variable named in the taxonomy, valid or not
        self.taxonomy_df = pd.DataFrame(columns=TAXONOMY_COLUMNS)
        self.dropped: list[str] = []
        self.audiences: list[str] | None = None
        self.lines = np.zeros(0, dtype=int)  # training line numbers, one per data row
        self.dates: np.ndarray | None = None  # training dates, NaT where unusable

    # -- bookkeeping ----------------------------------------------------------------------------

    def problem(self, file: str, message: str, column: str | None = None, row: int | None = None,
                date: str | None = None) -> None:
        self.problems.append(Problem(file, message, column, row, date))

    def warn(self, file: str, message: str, column: str | None = None) -> None:
        self.warnings.append(str(Problem(file, message, column)))

    def row_problems(self, file: str, column: str | None, mask: np.ndarray, message, what: str,
                     lines: np.ndarray, dates: np.ndarray | None = None) -> None:
        """One problem per flagged row (the first MAX_ROWS_PER_RULE), then one "and N more"."""
        idx = np.flatnonzero(mask)
        for i in idx[:MAX_ROWS_PER_RULE]:
            date = None if dates is None or np.isnat(dates[i]) else _day(dates[i])
            self.problem(file, message(i), column, int(lines[i]), date)
        n = len(idx) - MAX_ROWS_PER_RULE
        if n > 0:
            self.problem(file, f"and {n} more {'row' if n == 1 else 'rows'} with {what}", column)

    # -- reading --------------------------------------------------------------------------------

    def read_bytes(self, name: str) -> bytes | None:
        try:
            return self.source.read(name)
        except _SourceError as e:  # the folder cannot be read at all: nothing more to check
            raise DatasetError([Problem(name, str(e))], self.path) from e

    def read_csv(self, name: str, data: bytes) -> tuple[pd.DataFrame, np.ndarray] | None:
        """All cells as text; duplicated header names reported (later copies dropped); line numbers."""
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            self.problem(name, f"not UTF-8 text (bad byte at offset {e.start}); save it as UTF-8 CSV")
            return None
        header = next(csv.reader(io.StringIO(text)), None)
        if not header or all(not h.strip() for h in header):
            self.problem(name, "file is empty (no header line)", row=1)
            return None
        try:
            raw = pd.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False,
                              skip_blank_lines=False, skipinitialspace=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as e:
            self.problem(name, f"cannot be parsed as CSV: {str(e).strip()}")
            return None
        raw = raw.fillna("")
        names = [str(h).strip() for h in raw.iloc[0].tolist()]
        body = raw.iloc[1:].reset_index(drop=True)
        lines = np.arange(len(body)) + 2
        keep: list[int] = []
        seen: dict[str, int] = {}
        for pos, nm in enumerate(names):
            col = body.iloc[:, pos].astype(str).str.strip()
            if nm == "":
                if (col != "").any():
                    self.problem(name, f"column {pos + 1} has an empty header but holds values", row=1)
                else:
                    self.warn(name, f"column {pos + 1} has an empty header and no values; ignored")
                continue
            if nm in seen:
                if seen[nm] == 1:
                    self.problem(name, "column appears more than once in the header", nm, row=1)
                seen[nm] += 1
                continue
            seen[nm] = 1
            keep.append(pos)
        df = pd.DataFrame({names[p]: body.iloc[:, p].astype(str).str.strip().to_numpy(dtype=object)
                           for p in keep}, index=range(len(body)))
        if len(df.columns):
            blank = (df == "").all(axis=1).to_numpy()
            df = df.loc[~blank].reset_index(drop=True)
            lines = lines[~blank]
        return df, lines

    def read_parquet(self, name: str, data: bytes) -> tuple[pd.DataFrame, np.ndarray] | None:
        try:
            df = pd.read_parquet(io.BytesIO(data))
        except Exception as e:  # pyarrow raises a variety of errors on corrupt files
            self.problem(name, f"cannot be read as parquet: {e}")
            return None
        if any(n is not None for n in df.index.names):
            df = df.reset_index()
        else:
            df = df.reset_index(drop=True)
        df.columns = [str(c).strip() for c in df.columns]
        dup = df.columns[df.columns.duplicated()].unique()
        for c in dup:
            self.problem(name, "column appears more than once", c)
        df = df.loc[:, ~df.columns.duplicated()]
        return df, np.arange(len(df)) + 2  # as if exported to CSV: first data row is line 2

    # -- main -----------------------------------------------------------------------------------

    def load(self) -> Dataset:
        msg = self.source.check()
        if msg is not None:
            raise DatasetError([Problem(self.path, msg)], self.path)

        files: dict[str, bytes] = {}
        for name in (*TRAINING_FILES, TAXONOMY_FILE, PRIORS_FILE, META_FILE):
            data = self.read_bytes(name)
            if data is not None:
                files[name] = data

        present = [n for n in TRAINING_FILES if n in files]
        if not present:
            self.problem("training.csv", "file missing (need training.csv or training.parquet)")
        elif len(present) > 1:
            self.problem("training.parquet", "both training.csv and training.parquet are present; keep one")

        variables = self.check_taxonomy(files.get(TAXONOMY_FILE))
        training = None
        if len(present) == 1:
            training = self.check_training(present[0], files[present[0]], variables)
        priors = self.check_priors(files.get(PRIORS_FILE), variables)
        meta = self.check_meta(files.get(META_FILE))

        if self.problems:
            raise DatasetError(self.problems, self.path)

        assert training is not None and variables is not None
        kept = [v for v in variables.values() if v.name not in self.dropped]
        taxonomy = self.taxonomy_df
        taxonomy = taxonomy[taxonomy["variable"].isin([v.name for v in kept])]
        taxonomy = taxonomy.drop_duplicates("variable").reset_index(drop=True)

        h = hashlib.sha256()
        for name in (*TRAINING_FILES, TAXONOMY_FILE, PRIORS_FILE):
            if name in files:
                h.update(name.encode() + b"\0" + str(len(files[name])).encode() + b"\0")
                h.update(files[name])

        return Dataset(
            path=self.path,
            training=training,
            taxonomy=taxonomy,
            priors=priors,
            target=self.target,
            media=[v.name for v in kept if v.kind == "media"],
            signal={v.name: v.signal for v in kept if v.kind == "media"},
            controls=[v.name for v in kept if v.kind in CONTROL_KINDS],
            holidays=[v.name for v in kept if v.kind == "holiday"],
            kinds={v.name: v.kind for v in kept},
            audiences=self.audiences,
            dropped=list(self.dropped),
            warnings=list(self.warnings),
            fingerprint=h.hexdigest(),
            meta=meta,
        )

    # -- taxonomy -------------------------------------------------------------------------------

    def check_taxonomy(self, data: bytes | None) -> dict[str, _Var] | None:
        """Valid variables by name (taxonomy order), or None when the taxonomy is unusable."""
        f = TAXONOMY_FILE
        if data is None:
            self.problem(f, "file missing")
            return None
        read = self.read_csv(f, data)
        if read is None:
            return None
        df, lines = read
        missing = [c for c in TAXONOMY_COLUMNS if c not in df.columns]
        for c in missing:
            self.problem(f, "required column missing", c, row=1)
        extra = [c for c in df.columns if c not in TAXONOMY_COLUMNS]
        if extra:
            self.warn(f, "columns ignored: " + ", ".join(repr(c) for c in extra))
        if "variable" not in df.columns or "kind" not in df.columns:
            return None
        if len(df) == 0:
            self.problem(f, "no variables (the file has a header but no rows)")
        for c in TAXONOMY_COLUMNS:
            if c not in df.columns:
                df[c] = ""
        df = df[TAXONOMY_COLUMNS].copy()
        self.taxonomy_df = df

        variables: dict[str, _Var] = {}
        first_line: dict[str, int] = {}
        claims: dict[str, str] = {}
        reserved = {DATE_COLUMN, AUDIENCE_COLUMN, self.target}
        for i, r in enumerate(df.itertuples(index=False)):
            line = int(lines[i])
            name, kind, signal = r.variable, r.kind, r.signal
            if name == "":
                self.problem(f, "empty variable name", "variable", line)
                continue
            if name in first_line:
                self.problem(f, f"variable '{name}' is listed again (first on line {first_line[name]})",
                             "variable", line)
                continue
            first_line[name] = line
            self.all_names.add(name)
            ok = True
            if kind not in KINDS:
                self.problem(f, f"unknown kind '{kind}' for variable '{name}' (expected one of: "
                                f"{', '.join(KINDS)})", "kind", line)
                ok = False
            elif kind == "media" and signal not in SIGNALS:
                self.problem(f, f"media variable '{name}' needs signal 'spend' or 'impressions', got "
                                f"'{signal}'", "signal", line)
                ok = False
            if kind not in KINDS:
                continue
            cols = [f"{name}_spend", f"{name}_impressions"] if kind == "media" else [name]
            for c in cols:
                if c in reserved:
                    self.problem(f, f"variable '{name}' would use column '{c}', which is reserved for "
                                    f"the {'target' if c == self.target else c}", "variable", line)
                    ok = False
                elif c in claims:
                    self.problem(f, f"variable '{name}' would use column '{c}', which already belongs to "
                                    f"variable '{claims[c]}'", "variable", line)
                    ok = False
                else:
                    claims[c] = name
            if ok:
                variables[name] = _Var(name, kind, signal if kind == "media" else "", line)
        if not any(v.kind == "media" for v in variables.values()) and len(df):
            self.problem(f, "no media variable (kind 'media')", "kind")
        return variables

    # -- training -------------------------------------------------------------------------------

    def check_training(self, f: str, data: bytes, variables: dict[str, _Var] | None) -> pd.DataFrame | None:
        read = self.read_csv(f, data) if f.endswith(".csv") else self.read_parquet(f, data)
        if read is None:
            return None
        df, lines = read
        self.lines = lines
        if len(df) == 0:
            self.problem(f, "no data rows")
            return None

        # dates
        dates = None
        if DATE_COLUMN not in df.columns:
            self.problem(f, "required column 'date' missing", DATE_COLUMN, row=1)
        else:
            dates, missing, bad, text = _to_dates(df[DATE_COLUMN])
            self.row_problems(f, DATE_COLUMN, missing, lambda i: "missing date", "a missing date", lines)
            self.row_problems(f, DATE_COLUMN, bad, lambda i: f"not a date: '{text[i]}' (expected YYYY-MM-DD)",
                              "an unparseable date", lines)
            self.dates = dates

        # audiences
        audience = None
        if AUDIENCE_COLUMN in df.columns:
            audience, amissing = _as_text(df[AUDIENCE_COLUMN])
            self.row_problems(f, AUDIENCE_COLUMN, amissing, lambda i: "missing audience", "a missing audience",
                              lines, dates)
            self.audiences = sorted(set(audience[~amissing].tolist()))

        if dates is not None:
            self.check_dates(f, dates, audience, amissing if audience is not None else None)

        # target
        columns: dict[str, np.ndarray] = {}
        if self.target not in df.columns:
            self.problem(f, f"target column '{self.target}' missing", self.target, row=1)
        else:
            columns[self.target] = self.numeric_column(f, df, self.target, "target value", nonneg=True)

        if variables is None:  # no usable taxonomy: nothing more can be said about the columns
            return None

        # variables' columns
        used: set[str] = {DATE_COLUMN, AUDIENCE_COLUMN, self.target}
        for v in variables.values():
            if v.kind != "media":
                used.add(v.name)
                if v.name not in df.columns:
                    self.problem(f, f"column missing for {v.kind} variable '{v.name}' "
                                    f"(taxonomy.csv line {v.line})", v.name, row=1)
                else:
                    columns[v.name] = self.numeric_column(f, df, v.name, "value", nonneg=False)
                continue
            spend, impr = f"{v.name}_spend", f"{v.name}_impressions"
            used.update((spend, impr))
            if spend not in df.columns:
                self.problem(f, f"column missing for media variable '{v.name}' (taxonomy.csv line {v.line})",
                             spend, row=1)
            else:
                values = self.numeric_column(f, df, spend, "spend", nonneg=True)
                if (values == 0).all():
                    self.dropped.append(v.name)
                    self.warn(f, f"media variable '{v.name}' has zero spend in every row; dropped "
                                 f"(its columns are ignored)", spend)
                    continue
                columns[spend] = values
            if impr in df.columns:
                values = self.numeric_column(f, df, impr, "impressions", nonneg=True)
                columns[impr] = values
                if v.signal == "impressions" and (values == 0).all():
                    self.warn(f, f"media variable '{v.name}' uses impressions, which are zero in every row",
                              impr)
            elif v.signal == "impressions":
                self.problem(f, f"column missing for media variable '{v.name}', whose signal is impressions "
                                f"(taxonomy.csv line {v.line})", impr, row=1)

        if variables and not [v for v in variables.values() if v.kind == "media" and v.name not in self.dropped]:
            self.problem(f, "no media variable left: every one has zero spend in every row")

        # columns that belong to nothing
        belongs = set()
        for name in self.all_names:
            belongs.update((name, f"{name}_spend", f"{name}_impressions"))
        for c in df.columns:
            if c in used:
                continue
            if c in belongs:
                self.warn(f, "column not used by the model; ignored", c)
                continue
            base = c
            for suffix in ("_spend", "_impressions"):
                if c.endswith(suffix):
                    base = c[: -len(suffix)]
            self.problem(f, f"column without a taxonomy row (add variable '{base}' to taxonomy.csv or "
                            f"remove the column)", c, row=1)

        if self.problems or dates is None:
            return None

        out = pd.DataFrame({DATE_COLUMN: dates.astype("datetime64[ns]")})
        if audience is not None:
            out[AUDIENCE_COLUMN] = audience.tolist()
        for c, values in columns.items():
            out[c] = values.astype("float64")
        by = [AUDIENCE_COLUMN, DATE_COLUMN] if audience is not None else [DATE_COLUMN]
        return out.sort_values(by, kind="stable").reset_index(drop=True)

    def numeric_column(self, f: str, df: pd.DataFrame, c: str, what: str, nonneg: bool) -> np.ndarray:
        values, missing, bad, text = _to_numbers(df[c])
        lines, dates = self.lines, self.dates
        self.row_problems(f, c, missing, lambda i: f"missing {what} (empty cell or NaN)", f"a missing {what}",
                          lines, dates)
        self.row_problems(f, c, bad, lambda i: f"non-numeric {what} '{text[i]}'", f"a non-numeric {what}",
                          lines, dates)
        if nonneg:
            neg = ~np.isnan(values) & (values < 0)
            self.row_problems(f, c, neg, lambda i: f"negative {what} {float(values[i])}", f"a negative {what}",
                              lines, dates)
        return values

    def check_dates(self, f: str, dates: np.ndarray, audience: np.ndarray | None,
                    amissing: np.ndarray | None) -> None:
        valid = ~np.isnat(dates)
        groups: dict[str | None, np.ndarray] = {}
        if audience is None:
            groups[None] = np.flatnonzero(valid)
        else:
            for a in sorted(set(audience[valid & ~amissing].tolist())):
                groups[a] = np.flatnonzero(valid & (audience == a))

        coverage: dict[str | None, set] = {}
        for a, idx in groups.items():
            for_a = "" if a is None else f" for audience '{a}'"
            # duplicates
            first: dict[np.datetime64, int] = {}
            dup = np.zeros(len(dates), dtype=bool)
            for i in idx:
                if dates[i] in first:
                    dup[i] = True
                else:
                    first[dates[i]] = i
            self.row_problems(f, DATE_COLUMN, dup,
                              lambda i: f"duplicated date{for_a} (also on line {self.lines[first[dates[i]]]})",
                              f"a duplicated date{for_a}", self.lines, dates)
            coverage[a] = set(first)
            # steps between consecutive weeks
            uniq = np.array(sorted(first))
            if len(uniq) < 2:
                continue
            steps = ((uniq[1:] - uniq[:-1]) / _DAY).astype(int)
            median = float(np.median(steps))
            if median != 7:
                self.problem(f, f"dates are not weekly{for_a}: consecutive dates are usually {median:g} days "
                                f"apart (expected 7)", DATE_COLUMN)
                continue
            odd = np.flatnonzero(steps != 7)
            for k in odd[:MAX_ROWS_PER_RULE]:
                before, after, step = _day(uniq[k]), _day(uniq[k + 1]), int(steps[k])
                row = int(self.lines[first[uniq[k + 1]]])
                if step % 7 == 0:
                    msg = (f"gap in the weekly dates{for_a}: no rows between {before} and {after} "
                           f"({_plural(step // 7 - 1, 'week')} missing)")
                else:
                    msg = f"dates not 7 days apart{for_a}: {before} to {after} is {step} days"
                self.problem(f, msg, DATE_COLUMN, row, after)
            if len(odd) > MAX_ROWS_PER_RULE:
                self.problem(f, f"and {len(odd) - MAX_ROWS_PER_RULE} more gaps or irregular steps{for_a}",
                             DATE_COLUMN)

        if audience is not None and len(coverage) > 1:
            union = set().union(*coverage.values())
            for a, have in coverage.items():
                lack = sorted(union - have)
                if not lack:
                    continue
                shown = ", ".join(_day(d) for d in lack[:MAX_ROWS_PER_RULE])
                more = f" and {len(lack) - MAX_ROWS_PER_RULE} more" if len(lack) > MAX_ROWS_PER_RULE else ""
                self.problem(f, f"audience '{a}' has no rows for {_plural(len(lack), 'date')} that other "
                                f"audiences have: {shown}{more} (all audiences must cover the same dates)",
                             AUDIENCE_COLUMN, date=_day(lack[0]))

    # -- priors ---------------------------------------------------------------------------------

    def check_priors(self, data: bytes | None, variables: dict[str, _Var] | None) -> pd.DataFrame:
        f = PRIORS_FILE
        empty = pd.DataFrame({"variable": pd.Series(dtype=object), "parameter": pd.Series(dtype=object),
                              **{c: pd.Series(dtype="float64") for c in PRIOR_COLUMNS[2:]}})
        if data is None:
            return empty
        read = self.read_csv(f, data)
        if read is None:
            return empty
        df, lines = read
        required = PRIOR_COLUMNS[:4]
        for c in required:
            if c not in df.columns:
                self.problem(f, "required column missing", c, row=1)
        extra = [c for c in df.columns if c not in PRIOR_COLUMNS]
        if extra:
            self.warn(f, "columns ignored: " + ", ".join(repr(c) for c in extra))
        if any(c not in df.columns for c in required):
            return empty
        for c in ("lower", "upper"):
            if c not in df.columns:
                df[c] = ""

        nums: dict[str, np.ndarray] = {}
        for c in PRIOR_COLUMNS[2:]:
            values, missing, bad, text = _to_numbers(df[c])
            if c in ("mu", "sigma"):
                self.row_problems(f, c, missing, lambda i, c=c: f"{c} is required", f"a missing {c}", lines)
            self.row_problems(f, c, bad, lambda i, c=c, t=text: f"non-numeric {c} '{t[i]}'", f"a non-numeric {c}",
                              lines)
            nums[c] = values

        all_params = MEDIA_PRIOR_PARAMETERS | OTHER_PRIOR_PARAMETERS
        keep = np.ones(len(df), dtype=bool)
        seen: dict[tuple[str, str], int] = {}
        for i, (var, par) in enumerate(zip(df["variable"].tolist(), df["parameter"].tolist())):
            line = int(lines[i])
            if var == "":
                self.problem(f, "empty variable name", "variable", line)
            elif variables is not None and var not in self.all_names:
                self.problem(f, f"unknown variable '{var}' (not in taxonomy.csv)", "variable", line)
            if par not in all_params:
                self.problem(f, f"unknown parameter '{par}' (expected one of: {', '.join(sorted(all_params))})",
                             "parameter", line)
            elif variables is not None and var in variables:
                kind = variables[var].kind
                allowed = MEDIA_PRIOR_PARAMETERS if kind == "media" else OTHER_PRIOR_PARAMETERS
                if par not in allowed:
                    self.problem(f, f"parameter '{par}' does not apply to {kind} variable '{var}' (expected one "
                                    f"of: {', '.join(sorted(allowed))})", "parameter", line)
            if (var, par) in seen:
                self.problem(f, f"prior for '{var}' / '{par}' given again (first on line {seen[var, par]})",
                             "parameter", line)
            else:
                seen[var, par] = line
            mu, sigma, lo, hi = (float(nums[c][i]) for c in PRIOR_COLUMNS[2:])
            if not np.isnan(sigma) and sigma <= 0:
                self.problem(f, f"sigma must be > 0, got {sigma}", "sigma", line)
            if not np.isnan(lo) and not np.isnan(hi) and not lo < hi:
                self.problem(f, f"lower ({lo}) must be less than upper ({hi})", "lower", line)
            if par == "adstock_decay" and not np.isnan(mu) and not 0 < mu < 1:
                self.problem(f, f"adstock_decay mu must be strictly between 0 and 1, got {mu}", "mu", line)
            if var in self.dropped:
                keep[i] = False
                self.warn(f, f"prior on line {line} ignored: variable '{var}' was dropped (zero spend)")

        out = pd.DataFrame({"variable": df["variable"].to_numpy(dtype=object),
                            "parameter": df["parameter"].to_numpy(dtype=object),
                            **{c: nums[c] for c in PRIOR_COLUMNS[2:]}})
        return out.loc[keep].reset_index(drop=True)

    # -- dataset.yaml ---------------------------------------------------------------------------

    def check_meta(self, data: bytes | None) -> dict:
        if data is None:
            return {}
        try:
            meta = yaml.safe_load(data.decode("utf-8-sig"))
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            self.problem(META_FILE, f"cannot be parsed as YAML: {e}")
            return {}
        if meta is None:
            return {}
        if not isinstance(meta, dict):
            self.problem(META_FILE, "must be a mapping (key: value lines)")
            return {}
        return meta
