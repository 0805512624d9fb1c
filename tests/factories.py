"""factory-boy factories for the queue's rows."""

from __future__ import annotations

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
