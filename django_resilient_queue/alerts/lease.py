"""A named lease row: at most one holder at a time across every ``runworkers``."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, router, transaction
from django.db.models import Q
from django.utils import timezone

from ..models import Lease


def acquire(name: str, holder: str, seconds: float) -> bool:
    """Take or renew ``name`` for ``seconds``; False while another holder's lease runs."""
    alias = router.db_for_write(Lease)
    now = timezone.now()
    until = now + timedelta(seconds=seconds)
    # One conditional UPDATE decides between racers: only a row that is ours or expired moves.
    if (
        Lease.objects.using(alias)
        .filter(name=name)
        .filter(Q(holder=holder) | Q(expires_at__lt=now))
        .update(holder=holder, expires_at=until)
    ):
        return True
    if Lease.objects.using(alias).filter(name=name).exists():
        return False
    try:
        with transaction.atomic(using=alias):
            Lease.objects.using(alias).create(name=name, holder=holder, expires_at=until)
    except IntegrityError:
        return False  # another process created it first
    return True


def release(name: str, holder: str) -> bool:
    """Give ``name`` up now (a stopping holder), so another may take it at once."""
    alias = router.db_for_write(Lease)
    return bool(
        Lease.objects.using(alias)
        .filter(name=name, holder=holder)
        .update(expires_at=timezone.now() - timedelta(seconds=1))
    )
