"""Roles in the views: analysts follow jobs but do not launch, cancel or change a run's status; a modeler
trains only on datasets of their brands; a user limited to some brands sees only the jobs they launched.
Each refusal is checked server-side (not just a disabled button) and logged."""

from __future__ import annotations

import logging

import pytest

from artemis_panel.state import AppState
from artemis_panel.views.compare import CompareView
from artemis_panel.views.jobs import JobsView
from jobs.demo_data import generate_demo_dataset
from jobs.local_runner import LocalRunner
from store import registry as rg
from store.access import Access
from store.reader import StoreReader

BURGERS = "Artemis Burgers"


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("role-data")
    return {"burgers": generate_demo_dataset(root / "burgers", weeks=70, seed=3),
            "tacos": generate_demo_dataset(root / "tacos", weeks=70, seed=3, brand="luna-tacos")}


def jobs_view(demo_store, tmp_path, access, runner):
    from artemis_panel.session_access import visible_brands

    reader = StoreReader(demo_store)
    view = JobsView(state=AppState(reader, brands=visible_brands(access, reader)),
                    store_path=demo_store, runs_root=tmp_path / "runs", cv_root=tmp_path / "runs" / "cv",
                    runner=runner, access=access)
    view.show()
    view._fields["draws"].value, view._fields["tune"].value, view._fields["chains"].value = 20, 20, 1
    return view


def test_an_analyst_follows_jobs_but_cannot_launch_or_cancel(demo_store, tmp_path, datasets, caplog):
    runner = LocalRunner(root=tmp_path / "jobs", cores=1)
    ana = jobs_view(demo_store, tmp_path, Access(user="ana", role="analyst", brands=(BURGERS,)), runner)
    assert ana._launch.disabled and ana._role_note.visible
    ana._dataset.value = str(datasets["burgers"])
    with caplog.at_level(logging.WARNING, logger="artemis.access"):
        ana.launch()  # (as a crafted click on the disabled button would)
    assert runner.list() == []
    assert any("'ana'" in r.getMessage() and "launch jobs" in r.getMessage() for r in caplog.records)


def test_a_modeler_launches_on_their_brand_only_and_others_do_not_see_it(demo_store, tmp_path, datasets, caplog):
    runner = LocalRunner(root=tmp_path / "jobs", cores=1)
    max_ = jobs_view(demo_store, tmp_path, Access(user="max", role="modeler", brands=("luna-tacos",)), runner)
    assert not max_._launch.disabled and not max_._role_note.visible
    max_._dataset.value = str(datasets["burgers"])
    max_.launch()
    assert runner.list() == []  # Artemis Burgers is not theirs
    max_._dataset.value = str(datasets["tacos"])
    max_.launch()
    (job,) = runner.list()
    try:
        assert job.user == "max"
        assert list(max_._table.value["job"]) == [job.job_id]
        ana = jobs_view(demo_store, tmp_path, Access(user="ana", role="analyst", brands=(BURGERS,)), runner)
        assert ana._table.value.empty  # another user's job, of another brand
        viewer = jobs_view(demo_store, tmp_path, Access(user="vi", role="analyst", brands=None), runner)
        viewer._table.selection = [0]  # an analyst of every brand sees it, and its log, but may not cancel it
        assert viewer._cancel.disabled and "jb-log-tail" in viewer._log.object
        with caplog.at_level(logging.WARNING, logger="artemis.access"):
            viewer.cancel_selected()
        assert runner.get(job.job_id).status in ("queued", "running")
        assert any("'vi'" in r.getMessage() for r in caplog.records)
        admin = jobs_view(demo_store, tmp_path, Access(user="root", role="admin", brands=None), runner)
        assert list(admin._table.value["job"]) == [job.job_id]
    finally:
        runner.cancel(job.job_id)


def test_only_modelers_change_a_runs_registry_status(demo_store, tmp_path, caplog):
    import shutil

    path = tmp_path / "store.duckdb"
    shutil.copyfile(demo_store, path)
    reader = StoreReader(path)
    try:
        state = AppState(reader)
        before = path.read_bytes()
        ana = CompareView(state=state, store_path=path, access=Access(user="ana", role="analyst", brands=(BURGERS,)))
        assert ana._reg_save.disabled
        ana._reg_run.value = state.run_id
        ana._reg_status.value = "promoted"
        with caplog.at_level(logging.WARNING, logger="artemis.access"):
            ana.save_status()
        assert path.read_bytes() == before and rg.reference_run(reader, BURGERS) is None
        assert any("change run status" in r.getMessage() for r in caplog.records)
        max_ = CompareView(state=state, store_path=path, access=Access(user="max", role="modeler", brands=(BURGERS,)))
        max_._reg_run.value = state.run_id
        max_._reg_status.value = "promoted"
        max_.save_status()
        assert rg.reference_run(reader, BURGERS) == state.run_id
        assert rg.history(reader, state.run_id).changed_by.tolist() == ["max"]
    finally:
        reader.close()
