"""Both executors' queue: workspaces take turns, first come first served within one."""
from builder.jobs.turns import Turns


def test_a_later_workspace_goes_before_an_earlier_ones_further_runs():
    turns = Turns()
    for run_id in ("a1", "a2", "a3"):
        turns.add(run_id, "student-a")
    turns.add("b1", "student-b")
    assert turns.order() == ["a1", "b1", "a2", "a3"]
    assert [turns.take() for _ in range(2)] == ["a1", "b1"]
    turns.add("c1", "student-c")  # never served: before student-a's next
    assert turns.order() == ["c1", "a2", "a3"]
    assert "a2" in turns and "a1" not in turns and len(turns) == 3


def test_a_run_that_was_already_going_waits_at_the_front_and_a_stopped_one_leaves():
    turns = Turns()
    turns.add("b1", "student-b")
    turns.add("a1", "student-a", first=True)  # e.g. paused for memory, or left by a gone server
    assert turns.order() == ["a1", "b1"]
    assert turns.remove("a1") and not turns.remove("a1")
    assert turns.take() == "b1" and not turns
