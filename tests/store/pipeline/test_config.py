"""A bad config is a clear error naming the file and the field, and nothing is written."""

from __future__ import annotations

import pytest

from artemis_panel.cli import main
from store.pipeline.config import ConfigError, load_config
from store.pipeline.run import run_pipeline
from tests.store.pipeline.conftest import EXAMPLE, make_project


def test_the_example_config_loads():
    cfg = load_config(EXAMPLE)
    assert cfg.engine == "duckdb" and cfg.output_format == "parquet"
    assert [e.name for e in cfg.entities] == ["owned_media", "paid_media", "sales", "weather"]
    assert cfg.entity("paid_media").column("spend").source == "Spend (USD)"
    assert [c.name for c in cfg.controls] == ["avg_temperature_f", "precipitation_in"]
    assert len(cfg.taxonomy) == 13 and cfg.taxonomy[0].variable == "Linear TV_Brand"


BAD = [
    ("pipeline.yaml", "engine: duckdb", "engine: flink", "pipeline.yaml, field 'engine': must be one of duckdb, spark"),
    ("pipeline.yaml", "output_format: parquet", "output_format: csv", "field 'output_format'"),
    ("pipeline.yaml", "  - {channel: CTV, message_type: Brand, channel_group: TV, pillar: Awareness, signal: impressions}",
     "  - {channel: CTV, message_type: Brand, channel_group: TV, signal: impressions}", "field 'taxonomy[3].pillar': is required"),
    ("paid_media.yaml", "  spend: {source: Spend (USD), type: decimal}", "  spend: {source: Spend (USD), type: money}",
     "paid_media.yaml, field 'columns.spend.type': must be one of"),
    ("paid_media.yaml", "  spend: {source: Spend (USD), type: decimal}", "  spend: {source: Spend (USD), type: string}",
     "field 'columns.spend.type': 'spend' of a media entity is of type 'decimal'"),
    ("sales.yaml", "  transactions: {source: transactions, type: integer}\n", "",
     "sales.yaml, field 'columns.transactions': is required"),
    ("sales.yaml", "  unique: [date, region]", "  unique: [date, store]", "field 'quality.unique': column 'store' is not in columns"),
    ("weather.yaml", "    precipitation_in: {min: 0}", "    precipitation_in: {min: zero}",
     "field 'quality.ranges.precipitation_in.min': must be a number"),
    ("owned_media.yaml", "kind: media", "kind: podcast", "owned_media.yaml, field 'kind'"),
    ("owned_media.yaml", "entity: owned_media", "entity: owned_media\ncolour: blue", "field 'colour': unknown field"),
    ("weather.yaml", "entity: weather", "entity: weather\n  bad: [", "weather.yaml: not valid YAML"),
]


@pytest.mark.parametrize("file, old, new, message", BAD, ids=[b[3][:40] for b in BAD])
def test_a_bad_config_names_file_and_field_and_writes_nothing(tmp_path, landing_files, file, old, new, message):
    project = make_project(tmp_path / "p", landing_files)
    path = project / file
    text = path.read_text()
    if file == "pipeline.yaml":  # (make_project rewrote it through yaml)
        import yaml
        text = (EXAMPLE / file).read_text().replace("as_of: null", "as_of: 2023-03-01")
        assert yaml.safe_load(text)
    assert old in text
    path.write_text(text.replace(old, new))
    with pytest.raises(ConfigError) as e:
        run_pipeline(project)
    assert message in str(e.value)
    assert str(path) in str(e.value)
    assert sorted(p.name for p in project.iterdir()) == sorted([p.name for p in EXAMPLE.iterdir()] + ["landing"])


def test_cli_runs_and_reports(tmp_path, landing_files, capsys):
    project = make_project(tmp_path / "p", landing_files, output_format="parquet")
    assert main(["pipeline", "run", "--config", str(project), "--no-progress", "--to", "silver"]) == 0
    out = capsys.readouterr().out
    assert "batch paid_media-" in out and "silver rebuilt" in out
    assert main(["pipeline", "run", "--config", str(project), "--no-progress"]) == 0
    assert "gold: media_weekly, sales_weekly, controls_weekly written" in capsys.readouterr().out
    assert main(["pipeline", "run", "--config", str(project), "--no-progress"]) == 0
    assert "no new landing files" in capsys.readouterr().out


def test_cli_bad_config_exits_2_naming_the_file(tmp_path, capsys):
    (tmp_path / "pipeline.yaml").write_text("engine: duckdb\n")
    assert main(["pipeline", "run", "--config", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'pipeline.yaml'}, field 'paths': is required" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipeline.yaml"]


def test_cli_demo_landing(tmp_path, capsys):
    assert main(["pipeline", "demo-landing", str(tmp_path / "l"), "--rows", "500", "--weeks", "2",
                 "--format", "parquet"]) == 0
    assert sorted(p.name for p in (tmp_path / "l").iterdir()) == ["owned_media", "paid_media", "sales", "weather"]
    assert list((tmp_path / "l" / "sales").glob("*.parquet"))


@pytest.mark.parametrize("start, stop", [("silver", "bronze"), ("bronze", "bronze"), ("gold", "gold")])
def test_layers_out_of_order_are_refused(project, start, stop):
    with pytest.raises(ConfigError, match="--from|--to"):
        run_pipeline(project, start=start, stop=stop)
    assert not (project / "work").exists()
