"""YAML text from a file someone wrote: whatever is wrong with it comes out as a YAMLError.

ruamel reports broken syntax as YAMLError, but a value its constructor cannot build escapes as
whatever Python raised: `!!timestamp 2020-13-45` or a decimal integer past Python's 4300-digit
limit (ValueError), `!!bool x` (KeyError), `!!int ""` (IndexError), `!!omap x` (AttributeError),
nesting deeper than the stack (RecursionError). A hex integer that long is built, and fails later
wherever it is printed. Every loader already turns YAMLError into its own typed error, so these
become YAMLErrors too, marked at the value where ruamel knows which one it was.

Two limits keep a hostile or mistaken file from holding the process: a file over MAX_FILE_BYTES
is not read past the limit, and a document whose aliases repeat more than MAX_ALIAS_VALUES values
(a "billion laughs": anchors of aliases of anchors) or hold themselves is refused before anything
walks it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import (
    BaseConstructor,
    ConstructorError,
    RoundTripConstructor,
    SafeConstructor,
)
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

#: A config is a few kilobytes; a megabyte is a wrong file (a log, a video) or a generated one.
MAX_FILE_BYTES = 1 << 20
#: Values that aliases may add to a document. Sharing a block of settings among a hundred
#: devices stays far below; nested aliases that multiply (a "billion laughs") do not.
MAX_ALIAS_VALUES = 100_000

# What ruamel's constructors raise on a value they cannot build (see the module docstring).
_BUILD_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError)


class FileTooLarge(YAMLError):
    """The file is over MAX_FILE_BYTES; it was not read past the limit."""

    def __init__(self) -> None:
        super().__init__(
            f"larger than the {MAX_FILE_BYTES >> 20} MiB ({MAX_FILE_BYTES:,} bytes) limit"
        )


class AliasError(MarkedYAMLError):
    """Aliases that repeat too much, or a value that holds itself; marked at the anchor."""

    def __init__(self, problem: str, node: Node, hint: str) -> None:
        super().__init__(problem=problem, problem_mark=node.start_mark)
        self.hint = hint


def read_text(path: Path) -> str:
    """The UTF-8 text of `path` (newlines as `\\n`), refusing a file over MAX_FILE_BYTES.

    Raises OSError, UnicodeDecodeError or FileTooLarge.
    """
    with path.open("rb") as stream:
        data = stream.read(MAX_FILE_BYTES + 1)  # a FIFO or /dev/zero has no size to check first
    if len(data) > MAX_FILE_BYTES:
        raise FileTooLarge
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def _children(node: Node) -> Iterator[Node]:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            yield key
            yield value
    elif isinstance(node, SequenceNode):
        yield from node.value


def check_aliases(root: Node) -> None:
    """Raise AliasError if aliases add more than MAX_ALIAS_VALUES values or a value holds itself.

    An alias is the very node of its anchor, so this counts each node once with its expanded
    size, in time linear in the file, where building or walking the data would take forever.
    """
    cap = 1 << 62  # sizes stop growing here: 2^1000 has no use but to be slow to add
    sizes: dict[int, int] = {}
    reached: dict[int, int] = {}
    nodes: dict[int, Node] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            sizes[key] = min(cap, 1 + sum(sizes[id(child)] for child in _children(node)))
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise AliasError(
                f"{_anchor(node)} holds itself through an alias; it would never end",
                node,
                "an alias may only repeat a value written before it, outside it",
            )
        on_path.add(key)
        nodes[key] = node
        stack.append((node, True))
        for child in _children(node):
            reached[id(child)] = reached.get(id(child), 0) + 1
            stack.append((child, False))
    if sizes[id(root)] - len(sizes) > MAX_ALIAS_VALUES:
        worst = max((k for k, n in reached.items() if n > 1), key=sizes.__getitem__)
        raise AliasError(
            f"aliases repeat more than {MAX_ALIAS_VALUES:,} values, {_anchor(nodes[worst])} "
            "the largest",
            nodes[worst],
            "an alias (*name) repeats its anchor's whole value: use fewer, or write it out",
        )


def _anchor(node: Node) -> str:
    return f"&{node.anchor}" if isinstance(node.anchor, str) else "this value"


class _Marked(BaseConstructor):
    """A value that cannot be built becomes a ConstructorError at that value's node."""

    def construct_document(self, node: Any) -> Any:
        check_aliases(node)
        return super().construct_document(node)

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
