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
from structlog.testing import capture_logs

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


async def test_a_socket_that_cannot_be_made_again_is_said_once_then_it_comes_back(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    srv = ControlServer(run / "control.sock", HANDLERS)
    await srv.start()
    watcher = asyncio.create_task(srv.watch(interval_s=0.01))
    try:
        with capture_logs() as logs:
            (run / "control.sock").unlink()
            run.rmdir()
            run.write_text("a file where the socket's folder was")  # listening cannot work
            await asyncio.sleep(0.3)
            lost = [e["log_level"] for e in logs if e["event"] == "control_socket_lost"]
            assert lost[0] == "error" and len(lost) > 3, lost
            assert set(lost[1:]) == {"debug"}, "said once, not every 2 s for ever"
            run.unlink()  # the engineer puts the folder back
            for _ in range(300):
                if any(e["event"] == "control_socket_recreated" for e in logs):
                    break
                await asyncio.sleep(0.01)
        assert (await call(run / "control.sock", "echo", {"x": 1}))["echo"] == {"x": 1}
    finally:
        await srv.stop()
        watcher.cancel()
    assert not (run / "control.sock").exists()
