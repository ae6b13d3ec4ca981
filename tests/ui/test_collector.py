"""The server's garbage collection stays cheap: new objects leave the collector's reach within FREEZE_S, and
cyclic garbage that got frozen is still freed at the next refreeze."""
import gc
import weakref

import pytest

from ui import collector


class Node:
    def __init__(self):
        self.me = self  # a cycle: only the collector frees it


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(collector.time, "monotonic", lambda: now[0])
    monkeypatch.setitem(collector._last, "freeze", float("-inf"))
    monkeypatch.setitem(collector._last, "refreeze", float("-inf"))
    yield now
    gc.unfreeze()  # leave the test process as it was


def test_new_objects_are_frozen_within_a_second_and_frozen_cycles_freed_at_the_refreeze(clock):
    collector.keep_cheap()
    frozen = gc.get_freeze_count()
    garbage = Node()
    gone = weakref.ref(garbage)
    kept = [Node() for _ in range(100)]
    collector.keep_cheap()  # within FREEZE_S: nothing to do
    assert gc.get_freeze_count() == frozen
    clock[0] += collector.FREEZE_S
    collector.keep_cheap()
    assert gc.get_freeze_count() >= frozen + len(kept)  # the new objects are out of the collector's reach
    del garbage
    gc.collect()
    assert gone() is not None  # frozen: a run's collection does not walk it
    clock[0] += collector.REFREEZE_S
    collector.keep_cheap()
    assert gone() is None  # the refreeze collected it
    assert all(isinstance(node, Node) for node in kept)
