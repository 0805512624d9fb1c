"""Every table of the app has a factory-boy factory that saves a valid row."""

from __future__ import annotations

import inspect

import factory
import pytest
from django.apps import apps

from tests import factories

pytestmark = pytest.mark.django_db


def _factories() -> dict[str, type[factory.django.DjangoModelFactory]]:
    found = {}
    for _, value in inspect.getmembers(factories, inspect.isclass):
        if issubclass(value, factory.django.DjangoModelFactory) and value._meta.model:
            found[value._meta.get_model_class()._meta.label] = value
    return found


def test_every_model_has_a_factory_that_saves_a_row() -> None:
    by_model = _factories()
    models = [
        m for m in apps.get_app_config("django_resilient_queue").get_models() if not m._meta.proxy
    ]
    missing = sorted(m._meta.label for m in models if m._meta.label not in by_model)
    assert not missing, f"no factory for {missing}"
    for model in models:
        row = by_model[model._meta.label]()
        assert model.objects.filter(pk=row.pk).exists(), model._meta.label
