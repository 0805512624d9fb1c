"""SERIALIZERS: more types for the tagged encoding, and its checks (E052-E059)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import override_settings

from django_resilient_queue.checks_serializers import check_serializers
from django_resilient_queue.serialization import (
    TYPE_KEY,
    decode_arguments,
    decode_value,
    encode_arguments,
    encode_value,
)
from tests.jobs_promises import Money

MONEY = "tests.jobs_promises.MoneySerializer"


class NoDecode:
    """A serializer without decode."""

    type = Money
    tag = "x"

    def encode(self, value: Any) -> Any:
        return value.amount


class TakesDate:
    """A built-in type: never used."""

    type = Decimal
    tag = "mydecimal"
    encode = staticmethod(str)
    decode = staticmethod(Decimal)


class ClashesWithBuiltin:
    """Takes the built-in tag "uuid"."""

    type = Money
    tag = "uuid"
    encode = staticmethod(repr)
    decode = staticmethod(repr)


class NeedsArguments:
    """Cannot be made with no arguments."""

    def __init__(self, required: int) -> None:
        self.required = required


class Opaque:
    """A type nobody registered."""


def test_a_registered_type_round_trips_nested_and_typed_inside() -> None:
    with override_settings(RESILIENT_QUEUE={"SERIALIZERS": [MONEY]}):
        value = {"price": Money("1.10", "EUR"), "list": [Money("2", "USD")]}
        encoded = encode_value(value)
        assert encoded["price"] == {
            TYPE_KEY: "tests.money",
            "v": {"amount": "1.10", "currency": "EUR"},
        }
        assert decode_value(encoded) == value


def test_without_the_setting_the_type_is_refused_naming_the_argument() -> None:
    with (
        override_settings(RESILIENT_QUEUE={"SERIALIZERS": []}),
        pytest.raises(TypeError, match=r"argument 'price' is a Money"),
    ):
        encode_arguments("t", [], {"price": Money("1", "EUR")})


def test_other_types_are_still_refused_with_the_setting() -> None:
    with (
        override_settings(RESILIENT_QUEUE={"SERIALIZERS": [MONEY]}),
        pytest.raises(TypeError, match=r"positional argument 0 is a Opaque"),
    ):
        encode_arguments("t", [Opaque()], {})


def test_a_plain_dict_using_a_registered_tag_is_not_mistaken_for_it() -> None:
    with override_settings(RESILIENT_QUEUE={"SERIALIZERS": [MONEY]}):
        lookalike = {TYPE_KEY: "tests.money", "v": {"amount": "1", "currency": "EUR"}}
        args, _ = encode_arguments("t", [lookalike], {})
        assert decode_arguments(args, {})[0] == [lookalike]


@pytest.mark.parametrize(
    ("value", "ids"),
    [
        ([MONEY], []),
        ((MONEY,), []),
        ("tests.jobs_promises.MoneySerializer", ["resilient_queue.E052"]),
        ([3, ""], ["resilient_queue.E053", "resilient_queue.E053"]),
        (["tests.nowhere.Serializer"], ["resilient_queue.E054"]),
        ([f"{__name__}.NeedsArguments"], ["resilient_queue.E055"]),
        ([f"{__name__}.NoDecode"], ["resilient_queue.E056"]),
        ([f"{__name__}.ClashesWithBuiltin"], ["resilient_queue.E057"]),
        ([MONEY, MONEY], ["resilient_queue.E058"]),
        ([f"{__name__}.TakesDate"], ["resilient_queue.E059"]),
    ],
)
def test_serializers_setting_check(value: object, ids: list[str]) -> None:
    with override_settings(RESILIENT_QUEUE={"SERIALIZERS": value}):
        assert [m.id for m in check_serializers()] == ids


def test_broken_entries_are_skipped_at_run_time_not_a_crash() -> None:
    with override_settings(
        RESILIENT_QUEUE={"SERIALIZERS": ["tests.nowhere.S", f"{__name__}.NoDecode", MONEY]}
    ):
        assert decode_value(encode_value(Money("3", "GBP"))) == Money("3", "GBP")
