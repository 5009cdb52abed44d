"""Whatever arrives on `cmd/{target}`, the answer is a typed result, and only requests the audit
log can hold reach the router (so a command never runs without its audit row)."""

from __future__ import annotations

import asyncio
import json

from hypothesis import given
from hypothesis import strategies as st

from drivers.sdk.testing import ListLogger
from edge_agent.commands import CommandErrorCode, CommandRequest, CommandResult
from edge_agent.uplink.commands import CommandService
from edge_agent.uplink.topics import Topics


class SeenRouter:
    def __init__(self) -> None:
        self.seen: list[CommandRequest] = []

    def add_agent_action(self, name: str, action: object) -> None:
        pass

    async def execute(self, request: CommandRequest) -> CommandResult:
        self.seen.append(request)
        return CommandResult(id=request.id, ok=True, ts=0.0)


NUMBERS = st.one_of(
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e400", "9" * 5000, "9" * 400]),
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)
STRINGS = st.text(max_size=140).map(json.dumps)
VALUES = st.one_of(NUMBERS, STRINGS, st.sampled_from(["null", "true", "{}", "[]"]))


@st.composite
def payloads(draw: st.DrawFn) -> bytes:
    """JSON-looking command objects with the contract's fields, some values out of bounds."""
    name = st.text(min_size=1, max_size=64).map(json.dumps)
    fields = {
        "id": draw(st.one_of(name, VALUES)),
        "action": draw(st.one_of(name, VALUES)),
        "args": "{"
        + ",".join(f'"v{i}":{draw(VALUES)}' for i in range(draw(st.integers(0, 3))))
        + "}",
        "expires_at": draw(VALUES),
    }
    keep = draw(st.sets(st.sampled_from(["args", "expires_at"]))) | {"id", "action"}
    if draw(st.integers(0, 9)) == 0:  # now and then a field is missing
        keep.discard(draw(st.sampled_from(["id", "action"])))
    return ("{" + ",".join(f'"{k}":{fields[k]}' for k in sorted(keep)) + "}").encode()


TARGETS = st.one_of(st.text(min_size=1, max_size=64), st.text(min_size=65, max_size=200))


@given(target=TARGETS, payload=payloads())
def test_any_command_gets_a_typed_answer_and_only_auditable_requests_run(
    target: str, payload: bytes
) -> None:
    router = SeenRouter()
    service = CommandService(
        Topics("edge/b/a"), router=router, agent_actions={}, log=ListLogger(), clock=lambda: 0.0
    )
    result = asyncio.run(service.answer(target, payload))

    assert isinstance(result, CommandResult)
    if router.seen:
        [request] = router.seen
        assert result.ok and request.device == target
        json.dumps(request.model_dump(mode="json"), allow_nan=False)  # the audit row can be written
        assert all(abs(v) <= 2**53 for v in request.args.values() if isinstance(v, int)), (
            "HQ's JSON tools hold every number exactly"
        )
    else:
        assert result.error is not None and result.error.code == CommandErrorCode.MALFORMED
