"""The broker password file: any bytes give the password or LinkDown naming the file."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from edge_agent.uplink import LinkDown
from edge_agent.uplink.link import read_password


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=40))
@example(blob=b"\r\x00")  # a CR inside the password is kept, not turned into LF
@example(blob=b" \t\n")  # a trailing space or tab goes, as for every other secret file
def test_any_bytes_give_the_password_or_link_down_naming_the_file(
    tmp_path: Path, blob: bytes
) -> None:
    path = tmp_path / "mqtt.pw"
    path.write_bytes(b"Hunter2Secret" + blob)
    try:
        password = read_password(path)
    except LinkDown as exc:
        assert str(path) in str(exc) and "not UTF-8" in str(exc)
        assert (
            "Hunter2Secret" not in repr(exc) and exc.__cause__ is None and exc.__context__ is None
        )
        return
    # The rule of every `*_file` secret (drivers.sdk.read_secret_file), so a file that works for
    # a projector works for the broker too.
    assert password == (b"Hunter2Secret" + blob).decode("utf-8").strip()


def test_missing_password_file_is_link_down_naming_it(tmp_path: Path) -> None:
    try:
        read_password(tmp_path / "absent.pw")
    except LinkDown as exc:
        assert "absent.pw" in str(exc)
    else:
        raise AssertionError("no LinkDown")


def test_the_broker_password_never_shows_in_a_log_line(tmp_path: Path) -> None:
    import io

    import structlog

    from edge_agent.logging import configure

    path = tmp_path / "mqtt.pw"
    path.write_text("Tr0ub4dor&3\n")
    password = read_password(path)
    out = io.StringIO()
    configure("info", stream=out, json=True)
    try:
        structlog.get_logger("test").warning("uplink_refused", detail=f"auth with {password}")
    finally:
        configure("info")
    assert "Tr0ub4dor&3" not in out.getvalue() and "uplink_refused" in out.getvalue()
