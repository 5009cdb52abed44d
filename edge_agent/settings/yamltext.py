"""YAML text from a file someone wrote: whatever is wrong with it comes out as a YAMLError.

ruamel reports broken syntax as YAMLError, but a value its constructor cannot build escapes as
whatever Python raised: `!!timestamp 2020-13-45` or a decimal integer past Python's 4300-digit
limit (ValueError), `!!bool x` (KeyError), `!!int ""` (IndexError), `!!omap x` (AttributeError),
nesting deeper than the stack (RecursionError). A hex integer that long is built, and fails later
wherever it is printed. Every loader already turns YAMLError into its own typed error, so these
become YAMLErrors too, marked at the value where ruamel knows which one it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import (
    BaseConstructor,
    ConstructorError,
    RoundTripConstructor,
    SafeConstructor,
)
from ruamel.yaml.error import YAMLError

# What ruamel's constructors raise on a value they cannot build (see the module docstring).
_BUILD_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError)


class _Marked(BaseConstructor):
    """A value that cannot be built becomes a ConstructorError at that value's node."""

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            data = super().construct_object(node, deep)
            if isinstance(data, int):
                str(data)  # 0x/0o/0b literals skip the 4300-digit limit; no message could show one
        except _BUILD_ERRORS as exc:
            tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
            value = repr(node.value[:40]) if isinstance(node.value, str) else "this value"
            # A ValueError says why (up to its advice for Python programmers); the others say nothing.
            why = f": {str(exc).split(';')[0]}" if isinstance(exc, ValueError) else ""
            raise ConstructorError(
                problem=f"cannot read {value} as {tag}{why}"[:200], problem_mark=node.start_mark
            ) from None
        return data


class _SafeConstructor(_Marked, SafeConstructor):
    pass


class _RoundTripConstructor(_Marked, RoundTripConstructor):
    pass


def load_yaml(text: str, *, round_trip: bool = False) -> Any:
    """Plain data (`round_trip`: ruamel's commented nodes, which know their lines) or YAMLError."""
    yaml = YAML(typ="rt" if round_trip else "safe")
    yaml.Constructor = _RoundTripConstructor if round_trip else _SafeConstructor
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(text)
    except RecursionError:
        raise YAMLError("nested too deeply to read") from None
    except _BUILD_ERRORS as exc:  # raised while filling a mapping or list, outside any one value
        raise YAMLError(f"cannot read the document: {exc}"[:200]) from None


def position(tree: Any, loc: Sequence[str | int]) -> tuple[int, int]:
    """Line/col (1-based) of the deepest node of `loc` that exists in a round-trip YAML tree.

    It stops at the last node ruamel knows a place for: a key merged in by `<<:`, an empty or
    tagged collection and the like have none of their own.
    """
    line, col, node = 1, 1, tree
    for part in loc:
        try:
            if isinstance(node, CommentedMap) and part in node:
                place = node.lc.key(part)
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
                place = node.lc.item(part)
            else:
                break
        except (KeyError, TypeError, IndexError):
            break
        if not place:
            break
        line, col, node = place[0] + 1, place[1] + 1, node[part]
    return line, col
