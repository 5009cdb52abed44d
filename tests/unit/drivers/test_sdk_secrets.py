"""Secret files (`*_file`): whatever bytes they hold, a driver gets text or AuthFailed naming the
file, never an exception that turns the device `crashed`, and never the content in a message."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from drivers.mdc.secure import normalise_pin
from drivers.sdk import AuthFailed, Reason, read_secret_file
from drivers.sdk.testing import RecordingContext

#: Written ahead of the fuzzed bytes, so a test can tell whether any content leaks.
MARKER = b"Hunter2Secret"


@given(st.binary(max_size=64))
@example(b"\rpin\r\n")  # a CR inside the secret is kept, not turned into LF
def test_any_bytes_in_a_secret_file_give_text_or_auth_failed_naming_the_file(blob: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "projector.pass"
        path.write_bytes(MARKER + blob)
        for read in (read_secret_file, RecordingContext().read_secret):
            try:
                value = read(path)
            except AuthFailed as exc:
                assert exc.reason is Reason.AUTH_FAILED
                assert str(path) in exc.message and "not UTF-8" in exc.message
                assert (
                    MARKER.decode() not in repr(exc)
                    and exc.__cause__ is None
                    and exc.__context__ is None
                )
                continue
            assert value == (MARKER + blob).decode("utf-8").strip()


def test_missing_secret_file_is_auth_failed_naming_it(tmp_path: Path) -> None:
    with pytest.raises(AuthFailed, match=r"cannot read secret file .*absent\.pass"):
        read_secret_file(tmp_path / "absent.pass")


@given(st.text(max_size=12))
def test_any_pin_file_text_gives_ascii_digits_or_auth_failed(text: str) -> None:
    try:
        pin = normalise_pin(text)
    except AuthFailed as exc:
        assert "digits 0-9" in exc.message
        return
    assert pin.isdigit() and 4 <= len(pin) <= 8 and int(pin) == int(text)


@pytest.mark.parametrize("pin", ["١٢٣٤", "\uff11\uff12\uff13\uff14", "12³4", "12 34"])
def test_pin_of_non_ascii_digits_is_refused_clearly(pin: str) -> None:
    with pytest.raises(AuthFailed, match="only the digits 0-9") as err:
        normalise_pin(pin)
    assert pin not in err.value.message
