"""Job arguments as JSON: plain values, and model instances stored as references."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.apps import apps
from django.db import models

from .serializers import registered_serializers

MODEL_REF_KEY = "__resilient_queue_model__"

JSONValue = Any

# A typed value is stored as {TYPE_KEY: tag, "v": ...}. A plain dict that has either reserved
# key is wrapped as {TYPE_KEY: "dict", "v": {...}} so it is never mistaken for a tagged value.
TYPE_KEY = "__resilient_queue_type__"
_RESERVED = (TYPE_KEY, MODEL_REF_KEY)


def _tz_encode(tz: dt.tzinfo | None, moment: dt.datetime | None) -> JSONValue:
    if tz is None:
        return None
    if isinstance(tz, ZoneInfo) and tz.key:
        return {"zone": tz.key}
    offset = tz.utcoffset(moment)
    if offset is None:
        return None
    return {"offset": offset.total_seconds()}


def _tz_decode(value: JSONValue) -> dt.tzinfo | None:
    if value is None:
        return None
    if "zone" in value:
        return ZoneInfo(value["zone"])
    seconds = value["offset"]
    return dt.UTC if seconds == 0 else dt.timezone(dt.timedelta(seconds=seconds))


def _tagged(value: Any) -> JSONValue | None:
    # Order matters: datetime is a subclass of date.
    if isinstance(value, dt.datetime):
        naive = value.replace(tzinfo=None).isoformat()
        return {
            TYPE_KEY: "datetime",
            "v": naive,
            "tz": _tz_encode(value.tzinfo, value),
            "fold": value.fold,
        }
    if isinstance(value, dt.date):
        return {TYPE_KEY: "date", "v": value.isoformat()}
    if isinstance(value, dt.time):
        naive_time = value.replace(tzinfo=None).isoformat()
        return {
            TYPE_KEY: "time",
            "v": naive_time,
            "tz": _tz_encode(value.tzinfo, None),
            "fold": value.fold,
        }
    if isinstance(value, Decimal):
        return {TYPE_KEY: "decimal", "v": str(value)}
    if isinstance(value, UUID):
        return {TYPE_KEY: "uuid", "v": str(value)}
    return None


def _untag(value: dict[str, Any]) -> Any:
    tag = value[TYPE_KEY]
    if tag == "dict":
        return {key: _decode(item) for key, item in value["v"].items()}
    if tag == "datetime":
        moment = dt.datetime.fromisoformat(value["v"])
        return moment.replace(tzinfo=_tz_decode(value.get("tz")), fold=value.get("fold", 0))
    if tag == "date":
        return dt.date.fromisoformat(value["v"])
    if tag == "time":
        clock = dt.time.fromisoformat(value["v"])
        return clock.replace(tzinfo=_tz_decode(value.get("tz")), fold=value.get("fold", 0))
    if tag == "decimal":
        return Decimal(value["v"])
    if tag == "uuid":
        return UUID(value["v"])
    serializer = registered_serializers().by_tag.get(tag)
    if serializer is not None:
        return serializer.decode(_decode(value["v"]))
    raise ValueError(f"unknown argument type tag {tag!r}")


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
            encoded[key] = _encode(item, f"{where}[{key!r}]")
        if TYPE_KEY in encoded or MODEL_REF_KEY in encoded:
            return {TYPE_KEY: "dict", "v": encoded}
        return encoded
    tagged = _tagged(value)
    if tagged is not None:
        return tagged
    for serializer in registered_serializers().ordered:
        if isinstance(value, serializer.type):
            return {TYPE_KEY: serializer.tag, "v": _encode(serializer.encode(value), where)}
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
        if TYPE_KEY in value:
            return _untag(value)
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


def encode_value(value: Any, where: str = "value") -> JSONValue:
    """Return one value in the tagged JSON encoding, or raise ``TypeError`` naming ``where``."""
    return _encode(value, where)


def decode_value(value: JSONValue) -> Any:
    """Return the value that ``encode_value`` encoded."""
    return _decode(value)


def encode_result(value: Any) -> JSONValue:
    """Return a job's return value as JSON, or None when JSON cannot hold it."""
    try:
        return _encode(value, "result")
    except TypeError:
        return None
