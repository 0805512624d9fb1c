"""Survive a database that goes away: back off with jitter, reconnect, report the outage."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connections

logger = logging.getLogger("django_resilient_queue.worker")

T = TypeVar("T")

CONNECTION_ERRORS = (OperationalError, InterfaceError)
MAX_BACKOFF = 5.0


def drop_connections() -> None:
    """Close this thread's connections so the next query opens a fresh one."""
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except Exception:  # a dead socket may fail to close; it is dropped all the same
            connection.connection = None


class OutageTracker:
    """Remembers when the database was first lost, to report one alert when it is back."""

    def __init__(self, who: str) -> None:
        self.who = who
        self.lost_at: float | None = None
        self._lock = threading.Lock()

    def lost(self) -> None:
        """Note that a database call failed for want of a connection."""
        with self._lock:
            if self.lost_at is None:
                self.lost_at = time.time()
                logger.warning("%s: database connection lost; retrying with backoff", self.who)

    def back(self) -> None:
        """Note a success; after an outage, write the DB_CONNECTION_LOST alert."""
        with self._lock:
            lost_at, self.lost_at = self.lost_at, None
        if lost_at is None:
            return
        seconds = time.time() - lost_at
        logger.warning("%s: database connection back after %.1fs", self.who, seconds)
        from ..alerts.store import raise_alert
        from ..models import AlertKind, AlertSeverity

        try:
            raise_alert(
                AlertKind.DB_CONNECTION_LOST,
                AlertSeverity.HIGH,
                f"The database was unreachable for {seconds:.0f}s ({self.who}); no job was lost.",
                fingerprint=f"DB_CONNECTION_LOST:{connections['default'].alias}",
                context={"seconds": round(seconds, 1), "who": self.who},
            )
        except CONNECTION_ERRORS:
            self.lost_at = lost_at


def call_with_reconnect(
    func: Callable[[], T],
    tracker: OutageTracker,
    *,
    give_up: Callable[[], bool] = lambda: False,
) -> T:
    """Call ``func`` until it gets through; between tries, reconnect after a jittered backoff."""
    delay = 0.2
    while True:
        try:
            result = func()
        except CONNECTION_ERRORS:
            tracker.lost()
            drop_connections()
            if give_up():
                raise
            time.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(MAX_BACKOFF, delay * 2)
            continue
        tracker.back()
        return result
