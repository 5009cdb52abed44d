"""The control socket answers garbage with a typed error and keeps serving everyone else."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_agent.control.client import ControlFailed, NotRunning, call, stream
from edge_agent.control.server import ControlServer, HandlerError


async def _echo(p: dict[str, Any]) -> Any:
    return {"echo": p}


async def _count(p: dict[str, Any]) -> AsyncIterator[Any]:
    for i in range(int(p.get("n", 3))):
        yield {"i": i}


async def _missing(_p: dict[str, Any]) -> Any:
    raise HandlerError("not_found", "no such thing", "try another")


async def _bug(_p: dict[str, Any]) -> Any:
    raise ZeroDivisionError("oops")


HANDLERS = {"echo": _echo, "count": _count, "missing": _missing, "bug": _bug}


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Path]:
    path = tmp_path / "c.sock"
    srv = ControlServer(path, HANDLERS)
    await srv.start()
    yield path
    await srv.stop()


async def raw(path: Path, data: bytes) -> list[dict[str, Any]]:
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(data)
    await writer.drain()
    writer.write_eof()
    lines = []
    while line := await asyncio.wait_for(reader.readline(), 5):
        lines.append(json.loads(line))
    writer.close()
    return lines


async def test_calls_streams_and_typed_errors(server: Path) -> None:
    assert await call(server, "echo", {"a": 1}) == {"echo": {"a": 1}}
    assert [x async for x in stream(server, "count", {"n": 4})] == [{"i": i} for i in range(4)]
    with pytest.raises(ControlFailed) as info:
        await call(server, "missing")
    assert (info.value.code, info.value.hint) == ("not_found", "try another")
    with pytest.raises(ControlFailed) as info:
        await call(server, "nope")
    assert info.value.code == "unknown_method" and "echo" in (info.value.hint or "")
    with pytest.raises(ControlFailed) as info:
        await call(server, "bug")
    assert info.value.code == "internal" and "ZeroDivisionError" in info.value.message
    assert await call(server, "echo") == {"echo": {}}  # still serving after a handler bug


async def test_stopped_daemon_is_reported_as_not_running(tmp_path: Path) -> None:
    with pytest.raises(NotRunning):
        await call(tmp_path / "absent.sock", "status")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(junk=st.binary(min_size=1, max_size=200).filter(lambda b: b"\n" not in b))
async def test_garbage_lines_get_malformed_and_the_socket_keeps_working(
    server: Path, junk: bytes
) -> None:
    answers = await raw(server, junk + b"\n" + b'{"id": 9, "method": "echo", "params": {"x": 2}}\n')
    assert len(answers) == 2
    assert answers[0]["ok"] is False and answers[0]["error"]["code"] in {
        "malformed",
        "unknown_method",
    }
    assert answers[1] == {
        "id": 9,
        "ok": True,
        "result": {"echo": {"x": 2}},
        "error": None,
        "more": False,
    }
