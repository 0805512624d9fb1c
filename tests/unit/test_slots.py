"""Slots shared with a child: a child killed while it holds their lock hangs nobody."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading

from django_resilient_queue.worker.slots import Slots


def _hold_lock_and_wait(slots: Slots, held: multiprocessing.synchronize.Event) -> None:
    slots._array.get_lock().acquire()
    held.set()
    signal.pause()


def test_a_child_killed_holding_the_lock_never_hangs_the_supervisor() -> None:
    ctx = multiprocessing.get_context("fork")
    slots = Slots(2, ctx)
    slots.occupy(0, job_id=7, run=3, deadline=123.0)
    held = ctx.Event()
    child = ctx.Process(target=_hold_lock_and_wait, args=(slots, held))
    child.start()
    try:
        assert held.wait(10), "the child never took the lock"
        os.kill(child.pid or 0, signal.SIGKILL)
        child.join(10)
        assert child.exitcode == -signal.SIGKILL

        # Every operation the supervisor uses, on a thread, so a hang fails the test
        # instead of hanging it.
        seen: list[object] = []

        def use_them() -> None:
            seen.append(slots.busy())
            slots.free(0)
            seen.append(slots.busy())
            slots.clear()
            seen.append(slots.fresh().busy())

        worker = threading.Thread(target=use_them, daemon=True)
        worker.start()
        worker.join(10)
        assert not worker.is_alive(), "reading the slots hung on the dead child's lock"
        busy_before, busy_after, fresh = seen
        assert [(s.job_id, s.run, s.deadline) for s in busy_before] == [(7, 3, 123.0)]  # type: ignore[attr-defined]
        assert busy_after == [] and fresh == []
    finally:
        if child.is_alive():
            child.kill()
            child.join(10)
