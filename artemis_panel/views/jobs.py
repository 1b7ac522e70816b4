"""JobsView: launch training or cross-validation (on this machine or on SageMaker) from a form built from
the model config, and follow every job in a live list (status, progress, elapsed time, log tail,
cancel). Jobs are worker processes with folders of their own (``jobs.local_runner``), so every session
and a reloaded page see the same list; a finished training run is synced into the store and appears
in the run picker, with a notification."""

from __future__ import annotations

import html
import logging
from pathlib import Path

import panel as pn
import param

from artemis_panel import jobs_data as jd
from artemis_panel.state import AppState
from artemis_panel.views.background import Background, in_document, notify
from jobs.local_runner import LocalRunner
from store.access import Access

log = logging.getLogger(__name__)


class JobsView(pn.viewable.Viewer):
    state = param.ClassSelector(class_=AppState, doc="The session's filters (the run picker is refreshed).")
    store_path = param.Parameter(doc="The store file finished runs are synced into.")
    runs_root = param.Parameter(doc="Where local training runs are written (and synced from).")
    cv_root = param.Parameter(doc="Where cross-validation results are written.")
    refresh_s = param.Number(default=1.0, doc="Seconds between refreshes of the job list.")
    renders = param.Integer(default=0, doc="How many times the list was redrawn (tests wait on it).")
    access = param.ClassSelector(class_=Access, default=Access.everything(),
                                 doc="The signed-in user: launching and cancelling jobs needs the modeler role.")

    def __init__(self, runner: LocalRunner | None = None, **params):
        super().__init__(**params)
        self.runner = runner or LocalRunner()
        self.runs_root = Path(self.runs_root)
        self.cv_root = Path(self.cv_root)
        W = pn.widgets
        self._dataset = W.TextInput(name="Dataset", value=jd.default_dataset(), css_classes=["jb-dataset"],
                                    placeholder="dataset folder or s3://bucket/prefix/")
        self._kind = W.RadioButtonGroup(options={"Train": "train", "Cross-validate": "cv"}, value="train",
                                        button_type="primary", button_style="outline", css_classes=["jb-kind"])
        self._fields = {f.name: self._widget(f) for f in jd.form_fields()}
        self._folds = W.IntInput(name="Folds", value=4, start=1, css_classes=["jb-folds"])
        self._test_weeks = W.IntInput(name="Test weeks per fold", value=13, start=1, css_classes=["jb-test-weeks"])
        self._step_weeks = W.IntInput(name="Weeks between folds", value=13, start=1, css_classes=["jb-step-weeks"])
        self._backend = W.RadioButtonGroup(options={"This machine": "local", "SageMaker": "sagemaker"},
                                           value="local", button_type="primary", button_style="outline",
                                           css_classes=["jb-backend"])
        sm = jd.sagemaker_defaults()
        self._instance = W.Select(name="Instance type", options=list(jd.INSTANCE_TYPES), css_classes=["jb-instance"])
        self._instances = W.IntInput(name="Instance count", value=1, start=1, css_classes=["jb-instances"])
        self._image = W.TextInput(name="Image URI", value=sm["image_uri"], css_classes=["jb-image"])
        self._role = W.TextInput(name="Role ARN", value=sm["role_arn"], css_classes=["jb-role"])
        self._s3 = W.TextInput(name="S3 prefix", value=sm["s3_prefix"], placeholder="s3://bucket/prefix",
                               css_classes=["jb-s3"])
        self._max_concurrent = W.IntInput(name="Jobs at once", value=6, start=1, css_classes=["jb-max-concurrent"])
        self._launch = W.Button(name="Launch", button_type="primary", css_classes=["jb-launch"])
        self._launch.on_click(lambda _e: self.launch())
        may = self.access.role in ("modeler", "admin")
        self._launch.disabled = not may
        self._role_note = pn.pane.Markdown(
            "" if may else f"*Launching and cancelling jobs needs the modeler role; you are "
                           f"{self.access.role or 'not granted a role'}. You can follow the jobs here.*",
            css_classes=["jb-role-note"], visible=not may)
        self._cv_box = pn.Row(self._folds, self._test_weeks, self._step_weeks, visible=False)
        self._sm_box = pn.Column(pn.Row(self._instance, self._instances, self._max_concurrent),
                                 pn.Row(self._image, self._role, self._s3), visible=False)
        self._kind.param.watch(lambda e: setattr(self._cv_box, "visible", e.new == "cv"), "value")
        self._backend.param.watch(lambda e: setattr(self._sm_box, "visible", e.new == "sagemaker"), "value")

        self._table = W.Tabulator(jd.jobs_table([]), disabled=True, selectable=1, show_index=False,
                                  sizing_mode="stretch_width", height=260, layout="fit_data_stretch",
                                  formatters={"progress": {"type": "progress", "max": 100, "legend": True}},
                                  css_classes=["jb-table"])
        self._table.param.watch(lambda _e: self._show_selected(), "selection")
        self._cancel = W.Button(name="Cancel job", button_type="danger", disabled=True, css_classes=["jb-cancel"])
        self._cancel.on_click(lambda _e: self.cancel_selected())
        self._log = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["jb-log"])
        self._status = pn.pane.HTML("", css_classes=["jobs-status"], height=0, margin=0)
        fields = list(self._fields.values())
        form = pn.Column(
            pn.pane.Markdown("#### Launch", margin=(0, 10)),
            pn.Row(self._dataset, self._kind), pn.Row(*fields[:6]), pn.Row(*fields[6:]), self._cv_box,
            self._backend, self._sm_box, self._launch, self._role_note, css_classes=["jb-form"],
            sizing_mode="stretch_width",
        )
        jobs = pn.Column(pn.pane.Markdown("#### Jobs", margin=(0, 10)), self._table, self._cancel, self._log,
                         sizing_mode="stretch_width")
        self._layout = pn.Column(form, jobs, self._status, sizing_mode="stretch_width")
        self._bg = Background(self._layout, "Launch")
        self._seen: dict[str, str] = {}  # job id -> status this session last saw
        self._synced: set[str] = set()  # run folders this session has synced
        self._last_rows = None
        self._focus: str | None = None  # a job to select at the next refresh (the one just launched)
        self._callback = None  # the periodic refresh, from the first time the tab is shown

    @staticmethod
    def _widget(f: jd.FormField):
        W = pn.widgets
        css = [f"jb-{f.name.replace('_', '-')}"]
        if f.choices:
            return W.Select(name=f.label, options=list(f.choices), value=f.default, css_classes=css, width=150)
        if f.kind is bool:
            return W.Checkbox(name=f.label, value=f.default, css_classes=css, width=150)
        if f.kind is int:
            return W.IntInput(name=f.label, value=f.default, start=0, css_classes=css, width=150)
        if f.kind is float:
            return W.FloatInput(name=f.label, value=f.default, step=0.01, css_classes=css, width=150)
        return W.TextInput(name=f.label, value=str(f.default), css_classes=css, width=150)

    def __panel__(self):
        return self._layout

    def show(self) -> None:
        """The tab is shown: read the jobs now and every ``refresh_s`` from then on (a session that never
        opens the tab never reads the jobs folder)."""
        if self._callback is None:
            self.refresh()
            if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
                self._callback = pn.state.add_periodic_callback(self.refresh, period=int(self.refresh_s * 1000))
            else:
                self._callback = False  # (outside a server: refreshed by hand)

    # ------------------------------------------------------------------ launch
    def form_values(self) -> dict:
        return {name: w.value for name, w in self._fields.items()}

    def sagemaker_settings(self) -> dict:
        return {"image_uri": self._image.value.strip(), "role_arn": self._role.value.strip(),
                "s3_prefix": self._s3.value.strip(), "instance_type": self._instance.value,
                "instance_count": self._instances.value, "max_concurrent": self._max_concurrent.value}

    def launch(self) -> None:
        """Check the form and the dataset off the event loop, then start the job's worker (modelers and
        admins only: the check is here, not just a disabled button, and a refusal is logged)."""
        if not self.access.permits("launch jobs"):
            notify("Launching jobs needs the modeler role", error=True)
            return
        kind, backend, dataset = self._kind.value, self._backend.value, self._dataset.value
        config = self.form_values()
        sagemaker = self.sagemaker_settings() if backend == "sagemaker" else {}
        # a modeler of some brands trains on their datasets only (None: any brand)
        allowed = None if self.access.brands is None else sorted({*(self.state.brands or []), *self.access.brands})
        cv = None
        if kind == "cv":
            cv = {"folds": self._folds.value, "test_weeks": self._test_weeks.value,
                  "step_weeks": self._step_weeks.value, "backend": backend, "sagemaker": sagemaker}

        def work():
            spec = jd.make_spec(kind, dataset, config, self.runs_root, self.cv_root, cv=cv, brands=allowed)
            job_backend = "local" if kind == "cv" else backend
            return self.runner.submit(spec, backend=job_backend, sagemaker=sagemaker if job_backend == "sagemaker" else None,
                                      user=self.access.user)

        def done(job) -> None:
            notify(f"Launched {job.name} ({job.job_id})")
            self._focus = job.job_id  # the job just launched is selected: its log tail shows as it runs
            self.refresh()

        self._launch.disabled = True

        def failed(e: Exception) -> None:
            self._launch.disabled = False
            self._bg.failed(e)

        def finished(job) -> None:
            self._launch.disabled = False
            done(job)

        self._bg.run(work, finished, failed)

    # ------------------------------------------------------------------ the list
    def refresh(self) -> None:
        """Re-read the jobs; redraw the table if anything changed; sync runs of newly finished jobs."""
        try:
            records = self.runner.list()
        except OSError as e:
            log.warning("cannot read the jobs folder: %s", e)
            return
        if self.access.brands is not None:  # a user limited to some brands sees only the jobs they launched
            records = [j for j in records if j.user is not None and j.user == self.access.user]
        finished_now = [j for j in records if j.status == "succeeded" and self._seen.get(j.job_id) not in (None, "succeeded")]
        for j in records:
            if j.status in ("failed",) and self._seen.get(j.job_id) not in (None, "failed"):
                notify(f"{j.name} failed: {j.error}", error=True)
            self._seen[j.job_id] = j.status
        to_sync = [j for j in records if j.status == "succeeded" and j.result.get("run_dir")
                   and j.result.get("run_id") not in self._known_runs() and j.result["run_dir"] not in self._synced]
        rows = jd.jobs_table(records)
        key = rows.to_json()
        focus, self._focus = self._focus, None
        if key != self._last_rows or focus is not None:
            self._last_rows = key
            selected = focus or self._selected_id()

            def draw() -> None:
                self._table.value = rows
                if selected is not None and selected in list(rows["job"]):
                    self._table.selection = [list(rows["job"]).index(selected)]
                self.renders += 1
                self._status.object = (f'<span class="jobs-status" data-renders="{self.renders}" '
                                       f'data-jobs="{len(rows)}" data-latest="{html.escape(records[0].status) if records else ""}"></span>')
                self._show_selected()

            in_document(draw)
        elif self._selected_id() is not None:
            in_document(self._show_selected)  # the log tail of a running job grows
        roots = sorted({Path(j.result["run_dir"]).parent for j in to_sync}
                       | {root for j in finished_now if (root := self._cv_source(j)) is not None})
        self._synced.update(j.result["run_dir"] for j in to_sync)
        if roots:
            self._sync(roots, [j for j in finished_now if j in to_sync])
        for j in finished_now:
            if j.kind == "cv":
                notify(f"{j.name} finished: results in {j.result.get('cv_dir')}"
                       + (" (its scores are in Compare)" if self._cv_source(j) else ""))

    @staticmethod
    def _cv_source(job) -> Path | None:
        """The runs folder a finished CV was written into (``<runs>/cv/<cv_id>``), which a sync reads; None
        for a CV folder elsewhere."""
        cv_dir = job.result.get("cv_dir") if job.kind == "cv" else None
        return Path(cv_dir).parent.parent if cv_dir and Path(cv_dir).parent.name == "cv" else None

    def _known_runs(self) -> set:
        runs = self.state.all_runs
        return set() if runs.empty else set(runs["run_id"])

    def _sync(self, roots: list[Path], announce: list) -> None:
        """Bring finished runs and CV results into the store (off the event loop), then refresh the run
        picker."""
        from store.sync import sync

        def work():
            return [sync(root, self.store_path) for root in roots]

        def done(_reports) -> None:
            self.state.load_runs()
            for j in announce:
                notify(f"{j.name} finished: run {j.result.get('run_id')} is in the run picker")

        Background(self._layout, "Sync").run(work, done)

    def _selected_id(self) -> str | None:
        sel = self._table.selection
        if not sel or self._table.value is None or sel[0] >= len(self._table.value):
            return None
        return str(self._table.value.iloc[sel[0]]["job"])

    def _show_selected(self) -> None:
        job_id = self._selected_id()
        if job_id is None:
            self._cancel.disabled = True
            self._log.object = ""
            return
        try:
            job = self.runner.get(job_id)
        except KeyError:
            return
        self._cancel.disabled = job.final or not self.access.can_launch_jobs
        where = job.result.get("run_dir") or job.result.get("cv_dir") or ""
        head = f"<b>{html.escape(job.name)}</b> · {job.status}" + (f" · {html.escape(where)}" if where else "")
        if job.error:
            head += f"<br><span class='jb-error'>{html.escape(job.error)}</span>"
        tail = html.escape(self.runner.log_tail(job_id, lines=25))
        self._log.object = f"<div>{head}</div><pre class='jb-log-tail'>{tail}</pre>"

    def cancel_selected(self) -> None:
        job_id = self._selected_id()
        if job_id is None:
            return
        if not self.access.permits("launch jobs"):
            notify("Cancelling jobs needs the modeler role", error=True)
            return
        self._cancel.disabled = True

        def done(job) -> None:
            notify(f"{job.name}: {job.status}")
            self.refresh()

        Background(self._layout, "Cancel").run(lambda: self.runner.cancel(job_id), done)
