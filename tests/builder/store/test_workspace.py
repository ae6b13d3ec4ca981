"""Workspaces and run ownership: saved work round-trips; no workspace can read, stop or delete another's
unshared run through the engine; one active run per workspace; the queue serves workspaces in turn."""
from __future__ import annotations

import json

import pytest
from app_train_fixtures import experiment, write_run

from builder.jobs.local import JobManager
from builder.store import workspace
from builder.store.runstore import RunStore
from builder.store.workspace import NotYourRun, QuotaExceeded, Workspaces

A, B = "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"


def test_new_ids_are_unguessable_and_checked_whole():
    ids = {workspace.new_id() for _ in range(200)}
    assert len(ids) == 200 and all(workspace.is_id(i) for i in ids)
    assert not workspace.is_id(A + "\n") and not workspace.is_id("../etc/passwd00") and not workspace.is_id(None)


SPEC = {"format": "layerlab/model@1", "name": "m", "nodes": [{"id": "x", "type": "Input"}]}


def test_state_round_trips_and_a_bad_link_is_refused(tmp_path):
    store = Workspaces(tmp_path)
    ws = workspace.new_id()
    assert not store.exists(ws) and store.ids() == [] and store.open(ws).reset == []  # nothing until it saves
    state = {"spec": SPEC, "name": "Ada", "history": [{"nodes": []}]}
    store.save(ws, state)
    assert store.load(ws) == {**state, "version": 1, "active": True} and store.exists(ws) and store.ids() == [ws]
    with pytest.raises(ValueError, match="not a workspace link"):
        store.load("../../secrets")


@pytest.mark.parametrize("text", ['[1, 2', '"just a string"', '{"spec": "x"', "\xff\xfe"])
def test_a_damaged_state_file_resets_and_says_so(tmp_path, text):
    store = Workspaces(tmp_path)
    ws = workspace.new_id()
    store.save(ws, {"name": "Ada"})
    (tmp_path / ws / "state.json").write_bytes(text.encode("latin-1"))
    opened = store.open(ws)
    assert opened.state == {} and len(opened.reset) == 1 and opened.reset[0].startswith("everything")
    assert (tmp_path / ws / "state.broken.json").read_bytes() == text.encode("latin-1")  # kept for the teacher
    assert store.open(ws).reset == []  # repaired: the next load is clean


def test_a_wrong_typed_state_keeps_every_valid_field_and_names_the_rest(tmp_path):
    store = Workspaces(tmp_path)
    ws = workspace.new_id()
    store.save(ws, {"name": "Ada"})
    broken = {"spec": SPEC, "data": "digits", "training": {"epochs": 3}, "history": [SPEC, "not a spec"],
              "augmentation": [], "name": 7, "gan_part": "nope", "upload_id": None, "version": "2", "junk": 1}
    (tmp_path / ws / "state.json").write_text(json.dumps(broken))
    opened = store.open(ws)
    assert opened.state == {"spec": SPEC, "training": {"epochs": 3}, "augmentation": [], "upload_id": None}
    assert sorted(opened.reset) == sorted(["the data choice", "the undo history", "your name",
                                           "the GAN network on the canvas", "the save counter"])
    assert store.save(ws, {"name": "Ada"}).state["version"] == 1  # a save goes on from the repaired file


def test_a_save_from_an_older_version_keeps_the_other_tabs_newer_groups(tmp_path):
    store = Workspaces(tmp_path)
    ws = workspace.new_id()
    base = store.save(ws, {"spec": SPEC, "history": [], "training": {"epochs": 5}, "data": {"dataset": "digits"}}).state
    grown = {**SPEC, "nodes": SPEC["nodes"] + [{"id": "d", "type": "Dense"}]}
    store.save(ws, {"spec": grown, "history": [SPEC], "training": {"epochs": 12}}, base=base)  # tab A
    other = {**SPEC, "nodes": SPEC["nodes"] + [{"id": "b", "type": "Dropout"}]}
    saved = store.save(ws, {"spec": other, "history": [SPEC], "training": {"epochs": 5},  # tab B, stale
                            "data": {"dataset": "iris"}}, base=base)
    assert sorted(saved.theirs) == ["spec", "training"]  # A's model and settings win; B is told
    on_disk = store.load(ws)
    assert on_disk["spec"] == grown and on_disk["training"] == {"epochs": 12}
    assert on_disk["data"] == {"dataset": "iris"}  # B's own change to a group A left alone is kept
    assert on_disk["version"] == 3
    again = store.save(ws, {"training": {"epochs": 7}}, base=on_disk)  # from the newest version: no merge
    assert again.theirs == [] and store.load(ws)["training"] == {"epochs": 7}


def test_workspaces_are_capped_and_empty_ones_are_swept(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_MAX_WORKSPACES", "2")
    store = Workspaces(tmp_path)
    used, idle, extra = (workspace.new_id() for _ in range(3))
    store.save(used, {"spec": SPEC})  # a change: did something
    store.save(idle, {"admitted": True})  # only gave the class code
    (tmp_path / idle / "state.json").write_text(json.dumps({"spec": SPEC, "history": []}))  # as old visits left it
    store.save(extra, {"name": "Bo"})  # full: the idle one is swept to make room
    assert store.ids() == sorted([used, extra])
    with pytest.raises(workspace.QuotaExceeded, match="LAYERLAB_MAX_WORKSPACES"):
        store.save(workspace.new_id(), {"name": "Cy"})
    assert len(store.ids()) == 2


@pytest.fixture
def runs(tmp_path):
    write_run(tmp_path, "run-a", workspace=A)
    write_run(tmp_path, "run-a-shared", workspace=A, shared=True)
    write_run(tmp_path, "run-b", workspace=B)
    write_run(tmp_path, "run-cli")  # no owner: made by the command line
    return tmp_path


def test_each_workspace_lists_its_own_shared_and_unowned_runs(runs):
    assert {r.id for r in RunStore(runs, B).list()} == {"run-b", "run-a-shared", "run-cli"}
    assert {r.id for r in RunStore(runs, A).list()} == {"run-a", "run-a-shared", "run-cli"}
    assert len(RunStore(runs, workspace.TEACHER).list()) == 4 == len(RunStore(runs).list())


def test_another_students_run_cannot_be_read_deleted_or_shared(runs):
    theirs = RunStore(runs, B)
    with pytest.raises(NotYourRun, match="belongs to another student"):
        theirs.zip_run("run-a")
    with pytest.raises(NotYourRun):
        theirs.delete("run-a")
    with pytest.raises(NotYourRun):
        theirs.delete("run-a-shared")  # shared means read-only
    with pytest.raises(NotYourRun):
        workspace.set_shared(runs / "run-a", B, True)
    assert theirs.zip_run("run-a-shared")[:2] == b"PK"  # a shared run can be downloaded
    assert (runs / "run-a").is_dir() and (runs / "run-a-shared").is_dir()
    RunStore(runs, A).delete("run-a")  # the owner can
    RunStore(runs, workspace.TEACHER).delete("run-b")  # and the teacher
    assert not (runs / "run-a").exists() and not (runs / "run-b").exists()


def test_sharing_is_the_owners_switch(runs):
    workspace.set_shared(runs / "run-a", A, True)
    assert "run-a" in {r.id for r in RunStore(runs, B).list()}
    workspace.set_shared(runs / "run-a", A, False)
    assert "run-a" not in {r.id for r in RunStore(runs, B).list()}


@pytest.fixture
def queue_only(tmp_path, monkeypatch):
    """A job manager without worker processes: only its queue and its checks are under test."""
    monkeypatch.setattr(JobManager, "_workers_wanted", lambda self: [])
    manager = JobManager(tmp_path, lazy=True)
    yield manager
    manager._closed = True


def test_one_active_run_per_workspace_and_stop_checks_the_owner(queue_only, tmp_path):
    a1 = queue_only.submit(experiment(), workspace=A)
    with pytest.raises(QuotaExceeded, match="already have a run"):
        queue_only.submit(experiment(), workspace=A)
    b1 = queue_only.submit(experiment(), workspace=B)
    status = json.loads((tmp_path / a1 / "status.json").read_text())
    assert status["owner"] == workspace.owner_tag(A) and A not in json.dumps(status)  # a hash, never the id
    with pytest.raises(NotYourRun):
        queue_only.stop(a1, workspace=B)
    assert queue_only.status(a1)["status"] == "queued"
    assert queue_only.stop(a1, workspace=A) and queue_only.status(a1)["status"] == "stopped"
    assert queue_only.queued() == [b1]
    queue_only.submit(experiment(), workspace=A)  # the stopped run no longer counts


def test_the_queue_serves_workspaces_in_turn(queue_only, monkeypatch):
    monkeypatch.setenv("LAYERLAB_MAX_ACTIVE_RUNS", "3")
    a = [queue_only.submit(experiment(), workspace=A) for _ in range(3)]  # A clicked first, three times
    b = [queue_only.submit(experiment(), workspace=B) for _ in range(2)]
    assert queue_only.queued() == [a[0], b[0], a[1], b[1], a[2]]
    assert queue_only.status(b[0])["queue_position"] == 2
    assert queue_only._pending.take() == a[0]  # what a free worker takes next
    assert queue_only.queued() == [b[0], a[1], b[1], a[2]]


def test_a_new_run_removes_the_oldest_unshared_runs_beyond_the_limit(queue_only, tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_MAX_STORED_RUNS", "3")
    for i in range(4):
        write_run(tmp_path, f"old-{i}", workspace=A, started=1000.0 + i, shared=(i == 0))
    write_run(tmp_path, "theirs", workspace=B, started=1.0)
    run_id = queue_only.submit(experiment(), workspace=A)
    left = {p.name for p in tmp_path.iterdir() if p.is_dir()}
    # 3 kept: the new run plus the two newest unshared ones; the shared one and B's run are never removed
    assert left == {run_id, "old-0", "old-2", "old-3", "theirs"}
    assert json.loads((tmp_path / run_id / "status.json").read_text())["pruned"] == ["old-1"]


def test_the_disk_budget_refuses_a_new_run_in_plain_words(queue_only, tmp_path, monkeypatch):
    (tmp_path / "big.bin").write_bytes(b"\0" * (2 * 1024 * 1024))
    monkeypatch.setenv("LAYERLAB_MAX_DISK_MB", "1")
    with pytest.raises(ValueError, match="storage for runs and uploads is full"):
        queue_only.submit(experiment(), workspace=A)


def test_upload_budgets_per_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLAB_MAX_WORKSPACE_UPLOADS", "2")
    monkeypatch.setenv("LAYERLAB_MAX_WORKSPACE_UPLOAD_MB", "3")
    store = Workspaces(tmp_path)
    ws = workspace.new_id()
    store.add_upload(ws, "one", 1024 * 1024, "one.csv")
    store.add_upload(ws, "one", 1024 * 1024, "one.csv")  # the same upload again takes no more room
    with pytest.raises(workspace.QuotaExceeded, match="would take 4 MB"):
        store.add_upload(ws, "two", 3 * 1024 * 1024)
    store.add_upload(ws, "two", 1024 * 1024)  # no file name known: it is listed as "an upload"
    with pytest.raises(workspace.QuotaExceeded, match="already keeps 2 uploads"):
        store.add_upload(ws, "three", 10)
    assert [(u["id"], u["name"]) for u in store.uploads(ws)] == [("one", "one.csv"), ("two", "an upload")]


def test_uploads_unused_for_too_long_are_swept(tmp_path, monkeypatch):
    import os
    import time

    from datasets import stored

    monkeypatch.setenv("LAYERLAB_UPLOADS_DIR", str(tmp_path))
    old, fresh = tmp_path / "old.npz", tmp_path / "fresh.npz"
    old.write_bytes(b"x")
    fresh.write_bytes(b"x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert stored.sweep(3600) == ["upload:old"]
    assert not old.exists() and fresh.exists()


def test_a_run_folder_from_before_hashed_owners_loses_the_plain_id_on_first_read(runs):
    before = json.loads((runs / "run-a" / "status.json").read_text())
    assert before["workspace"] == A  # what older servers wrote
    assert {r.id for r in RunStore(runs, B).list()} == {"run-b", "run-a-shared", "run-cli"}  # still A's
    after = json.loads((runs / "run-a" / "status.json").read_text())
    assert "workspace" not in after and after["owner"] == workspace.owner_tag(A) and A not in json.dumps(after)
    assert workspace.may_change(runs / "run-a", A) and not workspace.may_change(runs / "run-a", B)
    assert not workspace.is_id(after["owner"])  # a tag is no link


def test_the_class_lists_workspaces_that_did_something_with_best_accuracy_per_dataset(tmp_path):
    from types import SimpleNamespace

    store = Workspaces(tmp_path / "home")
    ada, idle, broken = workspace.new_id(), workspace.new_id(), workspace.new_id()
    store.save(ada, {"name": "Ada", "spec": SPEC})
    store.save(idle, {"admitted": True})
    store.save(broken, {"name": "Bo"})
    (tmp_path / "home" / broken / "state.json").write_text('{"spec": "oops", "data": 3, "name": "Bo"}')

    def run(owner, dataset, acc, status="completed"):
        return SimpleNamespace(owner=workspace.owner_tag(owner), dataset=dataset, final={"test_accuracy": acc},
                               status=status, id=f"{dataset}-{acc}", model="m", epochs_done=1, epochs=2)
    runs_ = [run(ada, "digits", 0.9), run(ada, "digits", 0.95), run(ada, "iris", 0.7), run(broken, "iris", 0.8)]
    rows = {r["name"]: r for r in workspace.class_rows(store, runs_)}
    assert set(rows) == {"Ada", "Bo"}  # the idle workspace is not a student
    assert rows["Ada"]["best test accuracy (digits)"] == 0.95 and rows["Ada"]["best test accuracy (iris)"] == 0.7
    assert rows["Bo"]["best test accuracy (digits)"] is None and rows["Bo"]["best test accuracy (iris)"] == 0.8
    assert rows["Bo"]["model"] == "" and rows["Bo"]["runs"] == 1  # the broken fields reset, the row still there
    assert all(ada not in json.dumps(r) and broken not in json.dumps(r) for r in rows.values())
    assert workspace.export_columns(list(rows.values())) == [
        "name", "model", "dataset", "runs", "best test accuracy (digits)", "best test accuracy (iris)"]
    board = workspace.leaderboard(runs_)
    assert [(b["dataset"], b["test accuracy"]) for b in board][:2] == [("digits", 0.95), ("digits", 0.9)]


def test_a_run_the_teacher_stops_says_so(queue_only, tmp_path):
    mine = queue_only.submit(experiment(), workspace=A)
    queue_only.stop(mine, workspace=workspace.TEACHER)
    assert json.loads((tmp_path / mine / "status.json").read_text())["stopped_by"] == "teacher"
    again = queue_only.submit(experiment(), workspace=A)
    queue_only.stop(again, workspace=A)  # the student's own stop is not the teacher's
    assert "stopped_by" not in json.loads((tmp_path / again / "status.json").read_text())
