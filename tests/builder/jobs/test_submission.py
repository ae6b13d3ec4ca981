"""Checked once, carried: the page's verdict is the one submit and the runner trust, by its stamp; an experiment
changed since is checked again and refused when invalid."""
import json

import pytest
from train_fixtures import digits_experiment, variant

from builder.experiments import experiment
from builder.experiments.experiment import coerce, passed, stamp, verdict
from builder.jobs.submission import checked, create_run
from builder.model.spec import SpecError
from builder.store import runfolder
from builder.train import runner


@pytest.fixture
def checks(monkeypatch):
    """Every call of the one check, counted (a spy around the real `check`)."""
    calls = []
    real = experiment.check

    def spy(exp, dataset_info=None):
        calls.append(exp)
        return real(exp, dataset_info)

    monkeypatch.setattr(experiment, "check", spy)
    return calls


def test_the_stamp_is_the_same_in_every_form_the_experiment_travels_in(tmp_path):
    d = digits_experiment()
    experiment.save(coerce(d), tmp_path / "exp.json")
    from_file = json.loads((tmp_path / "exp.json").read_text())
    assert stamp(d) == stamp(coerce(d)) == stamp(tmp_path / "exp.json") == stamp(coerce(from_file))
    assert stamp({**d, "name": "my run"}) == stamp(d)  # a name never changes the verdict
    assert stamp(variant(d, **{"training.learning_rate": 0.02})) != stamp(d)
    assert stamp(variant(d, **{"model.nodes.2.params.units": 17})) != stamp(d)


def test_submit_trusts_the_pages_verdict_and_does_not_check_again(checks):
    page = verdict(digits_experiment())  # what Train shows
    assert page.ok and len(checks) == 1
    exp = checked(page, name="mine")
    assert len(checks) == 1  # trusted by its stamp
    assert exp.name == "mine" and exp.checked == page.stamp == stamp(exp)


def test_a_verdict_on_an_experiment_changed_since_is_checked_again_and_refused(checks):
    page = verdict(digits_experiment())
    page.experiment.training["learning_rate"] = -1.0  # changed after it was checked
    assert not page.holds()
    with pytest.raises(SpecError, match="learning rate must be a positive number"):
        checked(page)
    assert len(checks) == 2


def test_a_verdict_with_problems_is_refused_without_checking_again(checks):
    page = verdict(variant(digits_experiment(), **{"training.learning_rate": -1.0}))
    with pytest.raises(SpecError, match="learning rate must be a positive number"):
        checked(page)
    assert len(checks) == 1


def test_a_plain_dict_is_checked_at_submit():
    with pytest.raises(SpecError, match="learning rate must be a positive number"):
        checked(variant(digits_experiment(), **{"training.learning_rate": -1.0}))


def test_the_run_folder_records_the_stamp_only_of_an_experiment_that_passed(tmp_path):
    ok = create_run(tmp_path, passed(digits_experiment()))
    assert runfolder.read_status(tmp_path / ok)["checked"] == stamp(digits_experiment())
    unchecked = create_run(tmp_path, coerce(digits_experiment()))
    assert runfolder.read_status(tmp_path / unchecked)["checked"] is None
    changed = passed(digits_experiment())
    changed.training["epochs"] = 99  # after it passed: its stamp no longer holds
    assert runfolder.read_status(tmp_path / create_run(tmp_path, changed))["checked"] is None


def test_the_runner_checks_again_when_experiment_json_changed_after_the_stamp(tmp_path, checks):
    run_id = create_run(tmp_path, passed(digits_experiment()))
    bad = variant(digits_experiment(), **{"training.learning_rate": -1.0})
    runfolder.write_json(tmp_path / run_id / runfolder.EXPERIMENT, bad)  # edited behind the manager's back
    assert runner.run(runfolder.read_json(tmp_path / run_id / runfolder.EXPERIMENT), tmp_path / run_id) == "failed"
    status = runfolder.read_status(tmp_path / run_id)
    assert "learning rate must be a positive number" in status["error"] and len(checks) == 2


def test_the_runner_trusts_the_stamp_the_job_manager_recorded(tmp_path, checks):
    run_id = create_run(tmp_path, passed(digits_experiment(epochs=1)))
    assert len(checks) == 1
    experiment_json = runfolder.read_json(tmp_path / run_id / runfolder.EXPERIMENT)  # as the worker gets it
    assert runner.run(experiment_json, tmp_path / run_id) == "completed"
    assert len(checks) == 1  # the submit's check was the only one
