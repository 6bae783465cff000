"""A single background thread that runs work when it falls due on the virtual clock.

Callback deliveries (with their retries) and the completion of 202-accepted operations
run here, one at a time, so delivery order is deterministic. A task is *busy* while it
runs, while it waits for a retry, or once its due time has passed; a task that waits
for an explicit delay (``delay_callback``, a delay fault, a ``complete_after``) or is
held back by a reorder fault only counts as *scheduled*. :meth:`wait_idle` is how tests
synchronise without sleeping.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
import traceback
from collections.abc import Callable

from .state import Clock

#: A task body returns None when finished, or the (virtual) time to run again.
TaskBody = Callable[["Task"], float | None]


@dataclasses.dataclass(eq=False)
class Task:
    seq: int
    kind: str
    due: float
    body: TaskBody
    #: Waiting for an explicit delay: reported as scheduled, not awaited.
    delayed: bool = False
    #: Held back until released (reorder fault).
    held: bool = False
    running: bool = False
    generation: int = 0


@dataclasses.dataclass(frozen=True)
class IdleReport:
    idle: bool
    scheduled: int
    running: int


class Scheduler:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._tasks: list[Task] = []
        self._seq = itertools.count(1)
        self._generation = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        #: Called after every task (the state file saves what a task changed).
        self.after_task: Callable[[], None] | None = None
        clock.on_change(self.wake)

    # --- lifecycle ------------------------------------------------------------------
    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="dintero-emulator-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def clear(self) -> None:
        """Forget every task; a task running right now finishes but is not rescheduled."""
        with self._cond:
            self._generation += 1
            self._tasks.clear()
            self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # --- submitting -----------------------------------------------------------------
    def submit(
        self, kind: str, due: float, body: TaskBody, *, delayed: bool = False, held: bool = False
    ) -> Task:
        with self._cond:
            task = Task(next(self._seq), kind, due, body, delayed, held)
            task.generation = self._generation
            self._tasks.append(task)
            self._cond.notify_all()
            return task

    def release_held(self, kind: str) -> int:
        """Let every held task of ``kind`` run now (after the delivery that overtook it)."""
        now = self._clock.now()
        with self._cond:
            released = 0
            for task in self._tasks:
                if task.held and task.kind == kind:
                    task.held = False
                    task.delayed = False
                    task.due = min(task.due, now)
                    released += 1
            self._cond.notify_all()
            return released

    # --- observing ------------------------------------------------------------------
    def _busy(self, task: Task, now: float) -> bool:
        if task.running:
            return True
        if task.held:
            return False
        return not task.delayed or task.due <= now

    def report(self) -> IdleReport:
        now = self._clock.now()
        with self._cond:
            return self._report(now)

    def _report(self, now: float) -> IdleReport:
        busy = [t for t in self._tasks if self._busy(t, now)]
        waiting = [t for t in self._tasks if not self._busy(t, now)]
        return IdleReport(
            idle=not busy,
            scheduled=sum(1 for t in waiting if t.kind == "callback"),
            running=len(busy),
        )

    def wait_idle(self, timeout: float) -> IdleReport:
        """Block until nothing is busy (or ``timeout`` real seconds passed)."""
        end = time.monotonic() + max(timeout, 0.0)
        with self._cond:
            while True:
                report = self._report(self._clock.now())
                remaining = end - time.monotonic()
                if report.idle or remaining <= 0:
                    return report
                # Re-check at least every 50 ms: a delayed task turns busy when its due
                # time passes without anybody notifying the condition.
                self._cond.wait(min(remaining, 0.05))

    # --- the worker -----------------------------------------------------------------
    def _next_task(self) -> Task | None:
        """Wait for the earliest due task; None when stopping. Caller holds the lock."""
        while not self._stopping:
            now = self._clock.now()
            ready = [t for t in self._tasks if not t.held and not t.running and t.due <= now]
            if ready:
                task = min(ready, key=lambda t: (t.due, t.seq))
                task.running = True
                return task
            future = [t.due for t in self._tasks if not t.held and not t.running]
            wait = min(future) - now if future else None
            self._cond.wait(None if wait is None else max(min(wait, 1.0), 0.001))
        return None

    def _run(self) -> None:
        while True:
            with self._cond:
                task = self._next_task()
            if task is None:
                return
            try:
                again = task.body(task)
            except Exception:  # a broken task must not kill the worker thread
                again = None
                traceback.print_exc()
            self._finish(task, again)
            if self.after_task is not None:
                self.after_task()

    def _finish(self, task: Task, again: float | None) -> None:
        with self._cond:
            task.running = False
            stale = task.generation != self._generation
            if again is None or stale:
                if task in self._tasks:
                    self._tasks.remove(task)
            else:
                task.due = again
                task.delayed = False
            self._cond.notify_all()
