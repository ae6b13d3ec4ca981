"""Runs waiting for room, served by workspace in turn: both executors' queue.

The workspace served longest ago goes next, first come first served within a
workspace, so a student's run starts before a classmate's sweep's further
trials, however many that sweep queued first:

    turns = Turns()
    turns.add(run_id, owner_tag)          # first=True: at the front (a run that was already going)
    turns.order()                         # the waiting runs in the order they will start
    run_id = turns.take()                 # the next one; its workspace goes to the back of the turn order
"""
from __future__ import annotations

import time
from collections import deque


class Turns:
    def __init__(self):
        self._waiting: deque[str] = deque()
        self._owner: dict[str, str | None] = {}  # waiting run → owner tag of its workspace
        self._served: dict[str | None, float] = {}  # owner tag → when one of its runs last started

    def add(self, run_id: str, tag: str | None, first: bool = False) -> None:
        self._owner[run_id] = tag
        if first:
            self._waiting.appendleft(run_id)
        else:
            self._waiting.append(run_id)

    def remove(self, run_id: str) -> bool:
        """Drop a waiting run (stopped before it started); False when it was not waiting."""
        if run_id not in self._owner:
            return False
        self._waiting.remove(run_id)
        del self._owner[run_id]
        return True

    def clear(self) -> None:
        self._waiting.clear()
        self._owner.clear()

    def __contains__(self, run_id: str) -> bool:
        return run_id in self._owner

    def __len__(self) -> int:
        return len(self._waiting)

    def order(self) -> list[str]:
        """The waiting runs in the order they will start (the one served longest ago first)."""
        served = dict(self._served)
        clock = max(served.values(), default=0.0)
        order, waiting = [], list(self._waiting)
        while waiting:
            run_id = min(waiting, key=lambda r: served.get(self._owner[r], 0.0))
            waiting.remove(run_id)
            order.append(run_id)
            clock += 1.0  # as if it started now: its workspace goes to the back of the turn order
            served[self._owner[run_id]] = clock
        return order

    def take(self) -> str:
        """The next run to start (IndexError when none waits)."""
        run_id = self.order()[0]
        self._served[self._owner[run_id]] = time.monotonic()
        self.remove(run_id)
        return run_id
