"""The model configuration: defaults, loading from YAML, command-line overrides and checks."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

VARIANTS = ("national", "per_audience")
SATURATIONS = ("hill", "logistic")
ADAPTATIONS = ("diag", "draw_diag", "low_rank")


class ConfigError(ValueError):
    """A model config that cannot be used; the message names the file and field."""


@dataclass
class SamplerConfig:
    """nutpie settings. ``target_accept`` 0.95: the posterior keeps a mildly curved ridge between
    media variables that share a flighting pattern (e.g. LTO bursts), and the smaller step removes
    its divergences at little cost. ``adaptation`` is nutpie's mass-matrix adaptation: ``diag``
    (nutpie's default, best ESS per second here), ``draw_diag`` or ``low_rank``."""

    draws: int = 500
    tune: int = 500
    chains: int = 2
    seed: int = 0
    target_accept: float = 0.95
    cores: int | None = None
    adaptation: str = "diag"


@dataclass
class PriorConfig:
    """Default priors; ``priors.csv`` in the dataset overrides them per variable."""

    # Expected (prior mean) share of the target that all media together drive; sets the median
    # cost per incremental transaction of every media variable to total spend / (share * total
    # target) * exp(cost_per_transaction_sigma^2 / 2), the same for every variable.
    media_share: float = 0.25
    # Log-sd of each CPIT: 0.7 puts 90% of the prior within a factor 3.2 either side of the median.
    # Wider priors let media variables with the same flighting (LTO channels, owned pushes) swap
    # their contributions along a curved ridge the sampler struggles with, for no gain in recovery.
    cost_per_transaction_sigma: float = 0.7
    adstock_decay_mu: float = 0.4
    adstock_decay_sigma: float = 0.2
    half_saturation_median: float = 0.4
    half_saturation_sigma: float = 0.6
    hill_slope_median: float = 1.4
    hill_slope_sigma: float = 0.4
    saturation_lambda_median: float = 3.0
    saturation_lambda_sigma: float = 0.6
    control_sigma: float = 0.5
    control_bound: float = 2.0
    intercept_sigma: float = 0.5
    trend_sigma: float = 0.2
    seasonality_sigma: float = 0.1
    noise_sigma: float = 0.2


@dataclass
class ModelConfig:
    """Everything that decides how a run is fitted; saved as ``config.yaml`` in each run folder."""

    brand: str | None = None
    target: str = "total_transactions"
    variant: str = "national"
    l_max: int = 8
    saturation: str = "hill"
    yearly_seasonality: int = 2
    trend: bool = True
    holdout_weeks: int = 0
    hdi_prob: float = 0.94
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    priors: PriorConfig = field(default_factory=PriorConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def check(self, source: str = "config") -> None:
        def bad(name: str, why: str) -> ConfigError:
            return ConfigError(f"{source}: field '{name}' {why}")

        if self.variant not in VARIANTS:
            raise bad("variant", f"must be one of {', '.join(VARIANTS)}, got {self.variant!r}")
        if self.saturation not in SATURATIONS:
            raise bad("saturation", f"must be one of {', '.join(SATURATIONS)}, got {self.saturation!r}")
        if not 1 <= self.l_max <= 52:
            raise bad("l_max", f"must be between 1 and 52 weeks, got {self.l_max}")
        if self.yearly_seasonality < 0:
            raise bad("yearly_seasonality", "must be >= 0")
        if self.holdout_weeks < 0:
            raise bad("holdout_weeks", "must be >= 0")
        if not 0 < self.hdi_prob < 1:
            raise bad("hdi_prob", "must be between 0 and 1")
        s = self.sampler
        for name in ("draws", "tune", "chains"):
            if getattr(s, name) < 1:
                raise bad(f"sampler.{name}", "must be >= 1")
        if s.adaptation not in ADAPTATIONS:
            raise bad("sampler.adaptation", f"must be one of {', '.join(ADAPTATIONS)}, got {s.adaptation!r}")
        if not 0 < s.target_accept < 1:
            raise bad("sampler.target_accept", "must be between 0 and 1")
        if not 0 < self.priors.media_share < 1:
            raise bad("priors.media_share", "must be between 0 and 1")
        for f in fields(self.priors):
            if f.name.endswith("sigma") and getattr(self.priors, f.name) <= 0:
                raise bad(f"priors.{f.name}", "must be > 0")


def _build(cls, values: dict[str, Any], source: str, prefix: str = ""):
    known = {f.name: f for f in fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{source}: unknown field '{prefix}{key}' (known: {', '.join(known)})")
        default = known[key].default_factory() if known[key].default_factory is not dataclasses.MISSING else known[key].default  # type: ignore[misc]
        if dataclasses.is_dataclass(default):
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: field '{prefix}{key}' must be a mapping")
            kwargs[key] = _build(type(default), value, source, f"{prefix}{key}.")
        else:
            kwargs[key] = _coerce(value, default, f"{prefix}{key}", source)
    return cls(**kwargs)


def _coerce(value: Any, default: Any, name: str, source: str) -> Any:
    if value is None or default is None:
        return value
    kind = type(default)
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            raise TypeError
        if kind is int:
            if isinstance(value, bool) or float(value) != int(value):
                raise TypeError
            return int(value)
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: field '{name}' must be {kind.__name__}, got {value!r}") from None


def config_from_dict(values: dict[str, Any] | None, source: str = "config") -> ModelConfig:
    cfg = _build(ModelConfig, values or {}, source)
    cfg.check(source)
    return cfg


def load_config(path: str | Path | None = None, **overrides: Any) -> ModelConfig:
    """Read a YAML model config (or the defaults) and apply overrides.

    Overrides use the flat names of the command line (``draws``, ``tune``, ``chains``, ``seed``,
    ``holdout_weeks``, ``variant``...); ``None`` means "not given".
    """
    values: dict[str, Any] = {}
    source = "config"
    if path is not None:
        source = str(path)
        try:
            text = Path(path).read_text()
        except OSError as e:
            raise ConfigError(f"{source}: cannot read the config file ({e.strerror})") from None
        try:
            values = yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{source}: not valid YAML ({e})") from None
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: the config must be a mapping of fields")
    sampler_keys = {f.name for f in fields(SamplerConfig)}
    for key, value in overrides.items():
        if value is None:
            continue
        if key in sampler_keys:
            values.setdefault("sampler", {})[key] = value
        else:
            values[key] = value
    return config_from_dict(values, source)


def dump_config(cfg: ModelConfig) -> str:
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)
