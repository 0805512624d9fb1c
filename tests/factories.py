"""factory-boy factories for the queue's rows."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from django_resilient_queue.models import Job, JobStatus


class JobFactory(factory.django.DjangoModelFactory):
    """A queued ``tests.jobs.add`` job, runnable now."""

    class Meta:
        model = Job

    task = "tests.jobs.add"
    queue = "default"
    priority = 0
    status = JobStatus.QUEUED
    args = factory.LazyFunction(lambda: [1, 2])
    kwargs = factory.LazyFunction(dict)
    run_after = factory.LazyFunction(timezone.now)
    max_attempts = 3
    timeout = 30.0


class DeadLetterFactory(factory.django.DjangoModelFactory):
    """A dead letter of ``tests.jobs.add`` (with its failed job), not replayed."""

    class Meta:
        model = "django_resilient_queue.DeadLetter"

    job = factory.SubFactory(JobFactory, status=JobStatus.FAILED, attempts=3)
    task = "tests.jobs.add"
    queue = "default"
    args = factory.LazyFunction(lambda: [2, 3])
    kwargs = factory.LazyFunction(dict)
    reason = "attempts exhausted"
    failure_category = "UNKNOWN"
    error_type = "builtins.RuntimeError"
    error_message = "boom"
    attempts = 3


class AlertFactory(factory.django.DjangoModelFactory):
    """An active alert."""

    class Meta:
        model = "django_resilient_queue.Alert"

    kind = "BREAKER_OPEN"
    severity = "high"
    message = "circuit breaker open"
    fingerprint = factory.Sequence(lambda n: f"BREAKER_OPEN:key{n}")


class WorkerFactory(factory.django.DjangoModelFactory):
    """A running worker row."""

    class Meta:
        model = "django_resilient_queue.Worker"

    name = factory.Sequence(lambda n: f"host:{1000 + n}")
    hostname = "host"
    pid = factory.Sequence(lambda n: 1000 + n)


class ScheduleFactory(factory.django.DjangoModelFactory):
    """An enabled schedule of ``tests.jobs.add``."""

    class Meta:
        model = "django_resilient_queue.Schedule"

    name = factory.Sequence(lambda n: f"schedule-{n}")
    task = "tests.jobs.add"
    cron = "*/5 * * * *"
    args = factory.LazyFunction(lambda: [1, 1])


class BreakerFactory(factory.django.DjangoModelFactory):
    """A closed circuit breaker."""

    class Meta:
        model = "django_resilient_queue.CircuitBreaker"

    key = factory.Sequence(lambda n: f"tests.jobs.key{n}")


class AttemptFactory(factory.django.DjangoModelFactory):
    """A failed first attempt of a job."""

    class Meta:
        model = "django_resilient_queue.Attempt"

    job = factory.SubFactory(JobFactory, status=JobStatus.FAILED, attempts=1)
    number = 1
    outcome = "failed"
    failure_category = "NETWORK"
    error_type = "builtins.ConnectionError"
    error_message = "connection refused"
    traceback = "Traceback (most recent call last):\n  ...\nConnectionError: connection refused\n"


class AlertDeliveryFactory(factory.django.DjangoModelFactory):
    """A failed webhook delivery of an alert."""

    class Meta:
        model = "django_resilient_queue.AlertDelivery"

    alert = factory.SubFactory(AlertFactory)
    channel = "0"
    channel_type = "webhook"
    status = "failed"
    attempts = 2
    last_error = "HTTP 500"
    payload = factory.LazyFunction(lambda: {"kind": "BREAKER_OPEN", "message": "open"})


class QueueStateFactory(factory.django.DjangoModelFactory):
    """A queue that was acted on and is active."""

    class Meta:
        model = "django_resilient_queue.QueueState"

    name = factory.Sequence(lambda n: f"queue-{n}")


class QueueSampleFactory(factory.django.DjangoModelFactory):
    """One sample of the default queue, now."""

    class Meta:
        model = "django_resilient_queue.QueueSample"

    queue = "default"
    taken_at = factory.LazyFunction(timezone.now)


class GateFactory(factory.django.DjangoModelFactory):
    """A concurrency gate with one place, none taken."""

    class Meta:
        model = "django_resilient_queue.Gate"

    key = factory.Sequence(lambda n: f"gate-key-{n}")
    kind = "concurrency"
    limit = 1


class CounterFactory(factory.django.DjangoModelFactory):
    """A cumulative count of succeeded attempts of ``tests.jobs.add``."""

    class Meta:
        model = "django_resilient_queue.Counter"

    name = "attempts"
    task = "tests.jobs.add"
    label = factory.Sequence(lambda n: f"label-{n}")
    value = 1


class LeaseFactory(factory.django.DjangoModelFactory):
    """A named lease held for a minute."""

    class Meta:
        model = "django_resilient_queue.Lease"

    name = factory.Sequence(lambda n: f"lease-{n}")
    holder = "host:1:0"
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=1))


class ScheduleTickFactory(factory.django.DjangoModelFactory):
    """A tick of a schedule, recorded without a job."""

    class Meta:
        model = "django_resilient_queue.ScheduleTick"

    schedule = factory.SubFactory(ScheduleFactory)
    tick_at = factory.LazyFunction(lambda: timezone.now().replace(second=0, microsecond=0))
