"""Send the outbox: due deliveries claimed one by one, retried with backoff, then ``failed``.

It runs in a process of its own beside each ``runworkers`` supervisor, never in a process
that runs jobs: a channel that hangs holds that process for its timeout, and nothing else.
Many supervisors may send at once; a conditional UPDATE gives each delivery to one of them.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import time
from datetime import datetime, timedelta
from multiprocessing.process import BaseProcess

from django.db import connections, router
from django.db.models import F
from django.utils import timezone

from ..models import AlertDelivery, DeliveryStatus
from . import channels, config

logger = logging.getLogger("django_resilient_queue.alerts")

MAX_ATTEMPTS = 8
# Delays after attempt 1, 2, ...: 2 s doubling to 5 min; the 8th failure is final (~8 min).
FIRST_DELAY = 2.0
MAX_DELAY = 300.0
BATCH = 20
INTERVAL = 1.0


def retry_delay(attempts: int) -> float:
    """Return the seconds before retrying a delivery that failed ``attempts`` times."""
    return float(min(MAX_DELAY, FIRST_DELAY * 2 ** max(0, attempts - 1)))


def _claim(delivery: AlertDelivery, now: datetime, alias: str) -> bool:
    # While one sender works on it, the row is not due for the others; if that sender dies,
    # the row falls due again after this hold and the attempt counts.
    hold = now + timedelta(seconds=channels.DEFAULT_TIMEOUT * 2 + 30)
    return bool(
        AlertDelivery.objects.using(alias)
        .filter(pk=delivery.pk, status=DeliveryStatus.PENDING, attempts=delivery.attempts)
        .update(attempts=F("attempts") + 1, next_attempt_at=hold)
    )


def deliver_due(now: datetime | None = None, limit: int = BATCH) -> int:
    """Send the deliveries that are due; return how many were sent."""
    alias = router.db_for_write(AlertDelivery)
    now = now or timezone.now()
    due = list(
        AlertDelivery.objects.using(alias)
        .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")[:limit]
    )
    sent = 0
    configured = config.channels()
    for delivery in due:
        if not _claim(delivery, now, alias):
            continue
        attempts = delivery.attempts + 1
        index = int(delivery.channel.split(":", 1)[0]) if ":" in delivery.channel else -1
        channel = configured[index] if 0 <= index < len(configured) else None
        rows = AlertDelivery.objects.using(alias).filter(pk=delivery.pk)
        if channel is None or str(channel.get("type")) != delivery.channel_type:
            rows.update(status=DeliveryStatus.FAILED, last_error="channel no longer configured")
            continue
        try:
            channels.send(channel, delivery.payload)
        except channels.ChannelError as exc:
            error = str(exc)
            final = attempts >= MAX_ATTEMPTS
            logger.warning(
                "alert delivery id=%s channel=%s attempt=%s failed%s: %s",
                delivery.pk,
                delivery.channel,
                attempts,
                " for good" if final else "",
                error,
            )
            if final:
                rows.update(status=DeliveryStatus.FAILED, last_error=error)
            else:
                later = timezone.now() + timedelta(seconds=retry_delay(attempts))
                rows.update(last_error=error, next_attempt_at=later)
            continue
        rows.update(status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error="")
        sent += 1
    return sent


def _loop(parent_pid: int, interval: float) -> None:
    """Send what is due every ``interval`` s until told to stop or orphaned."""
    # Stop at once, even in the middle of a send: a claimed delivery falls due again after
    # its hold, so nothing is lost, and the supervisor's exit never waits for a slow channel.
    signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides when to stop
    while os.getppid() == parent_pid:
        try:
            while deliver_due() == BATCH:
                pass
        except Exception:
            logger.warning("alert delivery round failed", exc_info=True)
            # A lost database: drop the connection, reconnect next round.
            with contextlib.suppress(Exception):
                connections.close_all()
        time.sleep(interval)


def delivery_main(parent_pid: int, interval: float = INTERVAL) -> None:
    """Entry point of the delivery process forked by the supervisor."""
    try:
        _loop(parent_pid, interval)
    finally:
        with contextlib.suppress(Exception):
            connections.close_all()
        os._exit(0)


def start_delivery_process() -> BaseProcess | None:
    """Fork the process that sends the outbox when a channel is configured (else None).

    A process of its own, not a thread: the supervisor forks workers at any time, and a
    channel that hangs or misbehaves then holds nothing the supervisor or a worker needs.
    """
    if not config.channels():
        return None
    # The forked process must not share this process's sockets to the database.
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except Exception:
            connection.connection = None
    process = multiprocessing.get_context("fork").Process(
        target=delivery_main,
        args=(os.getpid(),),
        name="resilient-queue-alert-delivery",
        daemon=True,  # ended with the supervisor
    )
    process.start()
    logger.info("started alert delivery pid=%s", process.pid)
    return process
