"""Job arguments as JSON: plain values, and model instances stored as references."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from django.apps import apps
from django.db import models

MODEL_REF_KEY = "__resilient_queue_model__"

JSONValue = Any


def _encode(value: Any, where: str) -> JSONValue:
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"{where} is {value!r}, which JSON cannot hold")
        return value
    if isinstance(value, models.Model):
        if value.pk is None:
            raise TypeError(
                f"{where} is an unsaved {type(value).__name__}; save it before enqueueing"
            )
        pk = str(value.pk) if isinstance(value.pk, UUID) else value.pk
        return {MODEL_REF_KEY: value._meta.label_lower, "pk": _encode(pk, where)}
    if isinstance(value, list | tuple):
        return [_encode(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        encoded = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} has the key {key!r}; JSON object keys must be str")
            if key == MODEL_REF_KEY:
                raise TypeError(f"{where} uses the reserved key {MODEL_REF_KEY!r}")
            encoded[key] = _encode(item, f"{where}[{key!r}]")
        return encoded
    raise TypeError(f"{where} is a {type(value).__qualname__}, which JSON cannot hold")


def encode_arguments(
    task: str, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> tuple[list[JSONValue], dict[str, JSONValue]]:
    """Return ``args`` and ``kwargs`` as JSON values, or raise ``TypeError`` naming the argument."""
    encoded_args = [
        _encode(value, f"{task}: positional argument {i}") for i, value in enumerate(args)
    ]
    encoded_kwargs = {
        name: _encode(value, f"{task}: argument {name!r}") for name, value in kwargs.items()
    }
    return encoded_args, encoded_kwargs


def _decode(value: JSONValue) -> Any:
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if isinstance(value, dict):
        if MODEL_REF_KEY in value:
            model = apps.get_model(value[MODEL_REF_KEY])
            return model._default_manager.get(pk=value["pk"])
        return {key: _decode(item) for key, item in value.items()}
    return value


def decode_arguments(
    args: Sequence[JSONValue], kwargs: Mapping[str, JSONValue]
) -> tuple[list[Any], dict[str, Any]]:
    """Return the stored arguments with model references reloaded from the database."""
    return [_decode(value) for value in args], {name: _decode(v) for name, v in kwargs.items()}


def encode_result(value: Any) -> JSONValue:
    """Return a job's return value as JSON, or None when JSON cannot hold it."""
    try:
        return _encode(value, "result")
    except TypeError:
        return None
