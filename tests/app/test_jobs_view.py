"""JobsView's list logic outside a server: the job just launched is selected and its log shows."""

from __future__ import annotations

from jobs.demo_data import generate_demo_dataset
from jobs.local_runner import LocalRunner


def test_the_launched_job_is_selected_and_its_log_shown(state, demo_store, tmp_path):
    from artemis_panel.views.jobs import JobsView

    runner = LocalRunner(root=tmp_path / "jobs", cores=1)
    view = JobsView(state=state, store_path=demo_store, runs_root=tmp_path / "runs", cv_root=tmp_path / "cv",
                    runner=runner)
    view.show()
    assert view._table.selection == []
    view._dataset.value = str(generate_demo_dataset(tmp_path / "ds", weeks=70, seed=3, brand="luna-tacos"))
    view._fields["draws"].value, view._fields["tune"].value, view._fields["chains"].value = 20, 20, 1
    view.launch()
    try:
        (job,) = runner.list()
        assert list(view._table.value["job"]) == [job.job_id]
        assert view._table.selection == [0]
        assert job.name in view._log.object and "jb-log-tail" in view._log.object
        assert not view._cancel.disabled  # a running job can be cancelled from here
        view.refresh()  # a later refresh keeps it selected
        assert view._table.selection == [0]
    finally:
        runner.cancel(job.job_id)
    assert runner.get(job.job_id).status == "cancelled"


def test_a_finished_cv_in_the_runs_folder_is_synced_from_it(tmp_path):
    from artemis_panel.views.jobs import JobsView
    from jobs.local_runner import JobRecord
    from jobs.paths import default_cv_root
    from store.paths import default_runs_root

    def cv_job(cv_dir):
        return JobRecord(job_id="j", kind="cv", name="cv", backend="local", status="succeeded", progress=1.0,
                         created_at="2026-11-24T00:00:00Z", dir=tmp_path, result={"cv_dir": str(cv_dir)})

    # the default CV folder is inside the runs folder that a sync reads
    assert default_cv_root().parent == default_runs_root()
    assert JobsView._cv_source(cv_job(default_cv_root() / "cv-1")) == default_runs_root()
    assert JobsView._cv_source(cv_job(tmp_path / "elsewhere" / "cv-1")) is None
