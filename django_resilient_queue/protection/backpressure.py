"""Backpressure per queue: defer enqueues above a fill level, refuse them above another.

Depth is counted at every enqueue, but never past ``max_depth`` (a bounded COUNT over
the partial index of queued rows), so concurrent enqueuers overshoot the emergency
threshold only by what they write at the same moment. Only for a ``max_depth`` above
EXACT_UP_TO is a cached count reused (refreshed every ESTIMATE_TTL seconds and counted
forward with our own enqueues), and then only while the queue, growing as fast as it did
between this process's last two counts, could not reach the first threshold meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connections, router, transaction

from ..exceptions import QueueFull
from ..models import AlertKind, AlertSeverity, Job, JobStatus
from ..priority import Priority

logger = logging.getLogger("django_resilient_queue.backpressure")

ESTIMATE_TTL = 2.0
SAFE_FILL = 0.6
# Up to this max_depth every enqueue counts (a bounded scan of at most this many index
# entries, well under a millisecond at the default sizes): the bound then holds whatever
# the number of enqueuers. Above it, a count is reused while it safely can (below).
EXACT_UP_TO = 10_000
ALERT_EVERY = 30.0


@dataclass(frozen=True)
class QueueLimits:
    """The backpressure options of one queue (``QUEUES[name]``)."""

    max_depth: int
    backpressure_threshold: float = 0.8
    emergency_threshold: float = 0.95
    max_defer: float = 60.0

    @classmethod
    def from_options(cls, options: Any) -> QueueLimits | None:
        """Return the limits of a ``QUEUES`` entry, or None when it sets no max_depth."""
        depth = options.get("max_depth") if options else None
        if not depth:
            return None
        return cls(
            max_depth=int(depth),
            backpressure_threshold=float(options.get("backpressure_threshold", 0.8)),
            emergency_threshold=float(options.get("emergency_threshold", 0.95)),
            max_defer=float(options.get("max_defer", 60.0)),
        )


@dataclass
class _Estimate:
    """One process's last count of a queue, and how fast the queue grew between counts."""

    counted_at: float
    depth: int  # as counted, plus our own enqueues since
    growth: float | None = None  # rows per second between the last two counts (None: one)


_estimates: dict[str, _Estimate] = {}
_alerted: dict[str, float] = {}
_writers: list[threading.Thread] = []  # depth alerts written beside a transaction
_lock = threading.Lock()


def _reusable(estimate: _Estimate, now: float, limits: QueueLimits) -> bool:
    """True when even a queue growing as fast as last seen cannot reach the first threshold
    before the count is ESTIMATE_TTL old: other processes' enqueues are what a cached count
    does not see, and the growth between two counts measures them."""
    if limits.max_depth <= EXACT_UP_TO or estimate.growth is None:
        return False
    if now - estimate.counted_at >= ESTIMATE_TTL:
        return False
    room = limits.max_depth * min(SAFE_FILL, limits.backpressure_threshold) - estimate.depth
    return room > max(0.0, estimate.growth) * ESTIMATE_TTL


def current_depth(queue: str, limits: QueueLimits) -> int:
    """Return the queued depth, exact when it matters, never counting past max_depth."""
    now = time.monotonic()
    with _lock:
        estimate = _estimates.get(queue)
        if estimate is not None and _reusable(estimate, now, limits):
            return estimate.depth
    depth = len(
        Job.objects.filter(queue=queue, status=JobStatus.QUEUED).values_list("pk", flat=True)[
            : limits.max_depth + 1
        ]
    )
    with _lock:
        previous = _estimates.get(queue)
        growth = None
        if previous is not None and now > previous.counted_at:
            growth = (depth - previous.depth) / (now - previous.counted_at)
        _estimates[queue] = _Estimate(now, depth, growth)
    return depth


def note_enqueued(queue: str, count: int) -> None:
    """Count our own enqueues into the cached estimate."""
    with _lock:
        if queue in _estimates:
            _estimates[queue].depth += count


def check(queue: str, priority: int, limits: QueueLimits, ahead: int = 0) -> timedelta | None:
    """Return a deferral for an enqueue into ``queue``, None to enqueue now, or raise QueueFull.

    ``ahead`` counts the jobs of the same bulk enqueue that go in before this one.
    """
    if priority >= Priority.HIGH:
        return None
    depth = current_depth(queue, limits) + ahead
    fill = depth / limits.max_depth
    if fill < limits.backpressure_threshold:
        return None
    refused = fill >= limits.emergency_threshold
    _raise_depth_alert(queue, depth, limits, refused=refused)
    if refused:
        raise QueueFull(
            f"queue {queue!r} holds {depth} of at most {limits.max_depth} jobs; "
            f"enqueues below Priority.HIGH are refused above {limits.emergency_threshold:.0%}"
        )
    span = max(1e-9, limits.emergency_threshold - limits.backpressure_threshold)
    share = (fill - limits.backpressure_threshold) / span
    return timedelta(seconds=max(1.0, share * limits.max_defer))


def _raise_depth_alert(queue: str, depth: int, limits: QueueLimits, *, refused: bool) -> None:
    now = time.monotonic()
    with _lock:
        if now - _alerted.get(queue, 0.0) < ALERT_EVERY:
            return
        _alerted[queue] = now
    what = "refused (QueueFull)" if refused else "deferred"
    message = (
        f"Queue {queue!r} holds {depth} of at most {limits.max_depth} jobs; "
        f"low-priority enqueues are {what}."
    )
    context = {"queue": queue, "depth": depth, "max_depth": limits.max_depth, "refused": refused}
    if not transaction.get_connection(router.db_for_write(Job)).in_atomic_block:
        _write_depth_alert(queue, message, context)
        return
    # Inside the caller's transaction, which a QueueFull is about to roll back: written on
    # a thread of its own (its own connection and commit), so that it survives. Not a
    # daemon: it finishes even if the caller's process is about to exit. (On SQLite it
    # waits for the caller's write lock, so it lands when the caller's transaction ends.)
    writer = threading.Thread(
        target=_write_depth_alert_and_close,
        args=(queue, message, context),
        name="resilient-queue-depth-alert",
    )
    with _lock:
        _writers[:] = [w for w in _writers if w.is_alive()]
        _writers.append(writer)
    writer.start()


def _write_depth_alert(queue: str, message: str, context: dict[str, object]) -> None:
    from ..alerts.store import raise_alert

    try:
        raise_alert(
            AlertKind.QUEUE_DEPTH_HIGH,
            AlertSeverity.HIGH,
            message,
            fingerprint=f"QUEUE_DEPTH_HIGH:{queue}",
            context=context,
        )
    except Exception:
        # An alert never makes an enqueue fail; it is tried again at the next one.
        logger.exception("queue %s: the QUEUE_DEPTH_HIGH alert could not be written", queue)
        with _lock:
            _alerted.pop(queue, None)


def _write_depth_alert_and_close(queue: str, message: str, context: dict[str, object]) -> None:
    try:
        _write_depth_alert(queue, message, context)
    finally:
        connections.close_all()  # this thread's own connections: the thread ends now


def wait_for_alerts(timeout: float = 10.0) -> None:
    """Wait for the depth alerts being written on their own threads (tests, scripts)."""
    with _lock:
        writers = list(_writers)
    for writer in writers:
        writer.join(timeout)
