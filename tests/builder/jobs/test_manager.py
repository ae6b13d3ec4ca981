"""Both job managers implement the one declared interface, method for method, signature for signature."""
import inspect

import pytest

from builder.jobs.local import JobManager, make_job_manager
from builder.jobs.manager import Manager
from builder.jobs.ray_executor import RayJobManager

METHODS = sorted(name for name, member in vars(Manager).items()
                 if inspect.isfunction(member) and not name.startswith("_"))


def test_the_interface_lists_the_eleven_shared_methods():
    assert METHODS == ["queued", "resume", "running", "shutdown", "status", "stop", "submit", "wait", "wait_ready",
                       "worker_pids", "worker_threads"]


@pytest.mark.parametrize("cls", [JobManager, RayJobManager])
@pytest.mark.parametrize("name", METHODS)
def test_each_manager_has_the_method_with_the_declared_signature(cls, name):
    declared = inspect.signature(getattr(Manager, name))
    actual = inspect.signature(getattr(cls, name))
    assert list(actual.parameters) == list(declared.parameters)
    assert [p.default for p in actual.parameters.values()] == [p.default for p in declared.parameters.values()]


def test_the_local_manager_made_by_the_factory_is_a_manager(tmp_path):
    manager = make_job_manager(tmp_path, "local", warm=False, lazy=True)
    try:
        assert isinstance(manager, Manager)
    finally:
        manager.shutdown()


def test_an_object_missing_a_method_is_not_a_manager():
    class Partial:
        def submit(self, experiment, name=None, workspace=None):
            return "run"

    assert not isinstance(Partial(), Manager)
