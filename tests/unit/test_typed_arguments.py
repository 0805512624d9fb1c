"""Typed job arguments round-trip exactly through the tagged JSON encoding."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from django_resilient_queue.serialization import (
    MODEL_REF_KEY,
    TYPE_KEY,
    decode_arguments,
    encode_arguments,
)

VALUES = [
    dt.datetime(2026, 3, 29, 1, 30, 15, 123456),
    dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
    dt.datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Paris")),
    dt.date(2026, 2, 28),
    dt.time(23, 59, 59, 999999),
    dt.time(8, 0, tzinfo=dt.timezone(dt.timedelta(hours=-3))),
    Decimal("1.10"),
    Decimal("-0.000001"),
    UUID("12345678-1234-5678-1234-567812345678"),
    {TYPE_KEY: "decimal", "v": "1"},
    {MODEL_REF_KEY: "auth.user", "pk": 1},
    {"nested": [{TYPE_KEY: "x"}, Decimal("2")]},
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_round_trip_is_equal_with_the_same_repr(value: object) -> None:
    args, kwargs = encode_arguments("t", [value], {"k": value})
    args, kwargs = json.loads(json.dumps(args)), json.loads(json.dumps(kwargs))
    back_args, back_kwargs = decode_arguments(args, kwargs)
    for back in (back_args[0], back_kwargs["k"]):
        assert back == value
        assert repr(back) == repr(value)
        assert type(back) is type(value)


def test_plain_dict_looking_like_a_tag_is_escaped() -> None:
    args, _ = encode_arguments("t", [{TYPE_KEY: "uuid", "v": "not-a-uuid"}], {})
    assert args[0][TYPE_KEY] == "dict"
    assert decode_arguments(args, {})[0][0] == {TYPE_KEY: "uuid", "v": "not-a-uuid"}


def test_plain_json_is_stored_unchanged() -> None:
    value = {"a": [1, 2.5, "x", None, True], "b": {"c": "d"}}
    args, kwargs = encode_arguments("t", [value], {"k": value})
    assert args == [value] and kwargs == {"k": value}


def test_unknown_type_is_a_type_error_naming_the_argument() -> None:
    with pytest.raises(TypeError, match=r"argument 'when'.*set"):
        encode_arguments("t", [], {"when": {1, 2}})
