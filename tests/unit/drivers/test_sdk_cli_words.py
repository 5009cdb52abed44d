"""CLI words -> command args: `devices cmd kiosk-1 run name=greet args='{"who": "Ann"}'`."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from drivers.kiosk.driver import RunArgs
from drivers.sdk import InvalidArgument, build_command, positional_to_args
from drivers.sdk.types import UNIVERSAL_ACTIONS


def test_an_object_argument_is_read_as_json() -> None:
    args = positional_to_args(RunArgs, ["greet", 'args={"who": "Ann", "n": 2}'])
    command = build_command({"run": RunArgs}, "run", args)
    assert command.args == {"name": "greet", "args": {"who": "Ann", "n": 2}}


def test_an_optional_object_or_a_list_is_read_as_json_too() -> None:
    class Args(BaseModel):
        extra: dict[str, Any] | None = None
        ids: list[int] = []

    assert positional_to_args(Args, ['extra={"a": 1}', "ids=[1, 2]"]) == {
        "extra": {"a": 1},
        "ids": [1, 2],
    }


def test_text_arguments_stay_text_even_when_they_look_like_json() -> None:
    assert positional_to_args(RunArgs, ['{"not": "json for a name"}']) == {
        "name": '{"not": "json for a name"}'
    }


@pytest.mark.parametrize("bad", ["{bad", '{"n": NaN}', "[1, 2"])
def test_broken_json_is_an_invalid_argument_that_says_so(bad: str) -> None:
    with pytest.raises(InvalidArgument, match="args: not JSON"):
        positional_to_args(RunArgs, ["greet", f"args={bad}"])


@given(st.lists(st.text(max_size=40), max_size=5))
def test_any_words_give_args_or_an_invalid_argument(words: list[str]) -> None:
    for model in (RunArgs, *UNIVERSAL_ACTIONS.values()):
        with contextlib.suppress(InvalidArgument):
            positional_to_args(model, words)
