"""Capture on real video files (cv2.VideoWriter) and the RTSP probe against a loopback peer."""

from __future__ import annotations

import hashlib
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_agent.vision.capture import MAX_WAIT_S, Capture, probe_rtsp


def write_video(
    path: Path, frames: int, fps: float, *, still: bool = False, size: tuple[int, int] = (64, 48)
) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, size)
    rng = np.random.default_rng(7)
    base = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    for i in range(frames):
        frame = base.copy()
        if not still:
            cv2.rectangle(frame, (i % size[0], 5), (i % size[0] + 10, 20), (255, 255, 255), -1)
        writer.write(frame)
    writer.release()
    return path


def drain(cap: Capture, limit: int = 500) -> list[tuple[float, np.ndarray]]:
    out = []
    for _ in range(limit):
        item = cap.read()
        if item is None:
            if cap.ended:
                break
            continue
        out.append(item)
    return out


def no_sleep(_s: float) -> None:
    return None


def test_file_frames_carry_the_files_own_timestamps(tmp_path: Path) -> None:
    with Capture(str(write_video(tmp_path / "v.avi", 20, fps=5))) as cap:
        frames = drain(cap)
    assert len(frames) == 20
    assert [round(ts, 3) for ts, _ in frames[:4]] == [0.0, 0.2, 0.4, 0.6]
    assert cap.reason == "ok"
    assert cap.ended


def test_target_fps_drops_frames_but_keeps_real_time(tmp_path: Path) -> None:
    with Capture(str(write_video(tmp_path / "v.avi", 30, fps=10)), fps=5) as cap:
        stamps = [round(ts, 3) for ts, _ in drain(cap)]
    assert stamps[:4] == [0.0, 0.2, 0.4, 0.6]
    assert len(stamps) == 15


def test_target_fps_below_an_uneven_source_rate_keeps_the_rate_on_average(tmp_path: Path) -> None:
    # 25 fps read at 10: frames are 0.04 s apart, so taking "a whole interval after the last one
    # taken" gives 0, 0.12, 0.24... (8.3 fps); a fixed grid of due times gives 10 a second
    with Capture(str(write_video(tmp_path / "v.avi", 50, fps=25)), fps=10) as cap:
        stamps = [round(ts, 3) for ts, _ in drain(cap)]
    assert stamps[:5] == [0.0, 0.12, 0.2, 0.32, 0.4]
    assert len(stamps) == 20


class NoTimes:
    """A real cv2.VideoCapture whose container reports no frame times, as some raw streams do."""

    def __init__(self, inner: object) -> None:
        self.inner = inner

    def get(self, prop: int) -> float:
        return 0.0 if prop == cv2.CAP_PROP_POS_MSEC else float(self.inner.get(prop))  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_a_file_without_frame_times_is_paced_by_its_frame_rate(tmp_path: Path) -> None:
    with Capture(str(write_video(tmp_path / "v.avi", 30, fps=10)), fps=5) as cap:
        first = cap.read()
        assert first is not None
        cap._cap = NoTimes(cap._cap)  # from the second frame on, the container says nothing
        stamps = [round(ts, 3) for ts, _ in drain(cap)]
    assert stamps[:3] == [0.2, 0.4, 0.6]  # counted from the frames grabbed, skipped ones too
    assert len(stamps) == 14


def test_resize_delivers_the_configured_size(tmp_path: Path) -> None:
    with Capture(str(write_video(tmp_path / "v.avi", 3, fps=5)), resize=(32, 24)) as cap:
        frames = drain(cap)
    assert {f.shape for _, f in frames} == {(24, 32, 3)}


def test_identical_frames_are_reported_frozen(tmp_path: Path) -> None:
    with Capture(
        str(write_video(tmp_path / "v.avi", 40, fps=10, still=True)), frozen_after_s=2.0
    ) as cap:
        reasons = []
        for _ in range(40):
            item = cap.read()
            assert item is not None
            reasons.append(cap.reason)
    assert reasons[:20] == ["ok"] * 20  # 0.0 .. 1.9 s of sameness
    assert set(reasons[21:]) == {"frozen"}


def test_moving_video_is_never_frozen(tmp_path: Path) -> None:
    with Capture(str(write_video(tmp_path / "v.avi", 40, fps=10)), frozen_after_s=1.0) as cap:
        reasons = set()
        while cap.read() is not None:
            reasons.add(cap.reason)
    assert reasons == {"ok"}


def test_missing_file_reports_no_signal(tmp_path: Path) -> None:
    cap = Capture(str(tmp_path / "nope.avi"), sleep=no_sleep)
    assert cap.read() is None
    assert cap.reason == "no_signal"


def test_corrupt_file_reports_decode_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00AVI LIST" + bytes(range(256)) * 20)
    cap = Capture(str(bad), sleep=no_sleep)
    assert cap.read() is None
    assert cap.reason == "decode_error"
    assert cap.ended


def test_missing_video_device_reports_no_signal() -> None:
    cap = Capture("/dev/video99", sleep=no_sleep)
    assert cap.read() is None
    assert cap.reason == "no_signal"
    assert not cap.ended  # a live source keeps retrying


def test_reconnect_waits_grow_with_backoff_in_short_slices(tmp_path: Path) -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        now[0] += s

    cap = Capture("/dev/video99", backoff=(1.0, 4.0), clock=lambda: now[0], sleep=sleep)
    attempts: list[float] = []
    for _ in range(40):
        assert cap.read() is None
        if cap.failures > len(attempts):
            attempts.append(now[0])
        if len(attempts) == 5:
            break
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert len(gaps) == 4
    assert 0.8 <= gaps[0] <= 1.2
    assert 1.6 <= gaps[1] <= 2.4
    assert all(3.2 <= g <= 4.8 for g in gaps[2:])  # capped
    # The caller's loop gets control back at least once a second, so the worker can heartbeat.
    assert max(sleeps) <= MAX_WAIT_S


def test_looped_file_keeps_time_moving_forward(tmp_path: Path) -> None:
    with Capture(str(write_video(tmp_path / "v.avi", 5, fps=10)), loop=True) as cap:
        stamps = []
        for _ in range(12):
            item = cap.read()
            assert item is not None
            stamps.append(item[0])
    assert all(b > a for a, b in itertools.pairwise(stamps))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(blob=st.binary(min_size=0, max_size=4096))
def test_arbitrary_bytes_never_raise(tmp_path: Path, blob: bytes) -> None:
    path = tmp_path / "fuzz.avi"
    path.write_bytes(blob)
    cap = Capture(str(path), sleep=no_sleep)
    for _ in range(5):
        cap.read()
    assert cap.reason in {"ok", "decode_error", "frozen"}
    cap.close()


# --- RTSP: a loopback peer that speaks just enough RTSP to challenge for credentials -------------


def rtsp_reply(request: bytes) -> bytes:
    """Digest-protected DESCRIBE: 401 unless the response hash is right for cam/s3cret, then 200."""
    head = request.decode(errors="replace")
    uri = head.split()[1]
    cseq = next(
        (ln.split(":", 1)[1].strip() for ln in head.split("\r\n") if ln.lower().startswith("cseq")),
        "1",
    )
    ha1 = hashlib.md5(b"cam:branch:s3cret", usedforsecurity=False).hexdigest()
    ha2 = hashlib.md5(f"DESCRIBE:{uri}".encode(), usedforsecurity=False).hexdigest()
    good = hashlib.md5(f"{ha1}:abc123:{ha2}".encode(), usedforsecurity=False).hexdigest()
    if f'response="{good}"' in head:
        sdp = "v=0\r\n"
        return (
            f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}".encode()
        )
    challenge = 'WWW-Authenticate: Digest realm="branch", nonce="abc123"'
    return f"RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\n{challenge}\r\n\r\n".encode()


@pytest.fixture
def rtsp_server() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback RTSP peer that challenges for Digest credentials; records every request."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(0.2)
    seen: list[bytes] = []
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        conn.settimeout(2)
        buf = b""
        while not stop.is_set() and (chunk := conn.recv(4096)):
            buf += chunk
            while b"\r\n\r\n" in buf:
                req, buf = buf.split(b"\r\n\r\n", 1)
                seen.append(req)
                conn.sendall(rtsp_reply(req))

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            with conn:
                try:
                    handle(conn)
                except OSError:
                    continue  # the client hung up or timed out; serve the next one

    thread = threading.Thread(target=serve, name="rtsp-stub", daemon=True)
    thread.start()
    yield srv.getsockname()[1], seen
    stop.set()
    thread.join(5)
    srv.close()


def test_wrong_rtsp_password_reports_auth_failed(rtsp_server: tuple[int, list[bytes]]) -> None:
    port, seen = rtsp_server
    assert probe_rtsp(f"rtsp://cam:wrong@127.0.0.1:{port}/live") == "auth_failed"
    assert any(b"Digest" in req for req in seen)
    assert not any(b"wrong" in req for req in seen)  # the password itself never goes on the wire


def test_right_rtsp_password_blames_the_stream_not_the_login(
    rtsp_server: tuple[int, list[bytes]],
) -> None:
    port, _ = rtsp_server
    assert probe_rtsp(f"rtsp://cam:s3cret@127.0.0.1:{port}/live") == "decode_error"


def test_capture_of_password_protected_camera_reports_auth_failed(
    rtsp_server: tuple[int, list[bytes]],
) -> None:
    port, seen = rtsp_server
    cap = Capture(f"rtsp://cam:wrong@127.0.0.1:{port}/live", sleep=no_sleep)
    assert cap.read() is None
    assert cap.reason == "auth_failed"
    assert any(
        b"FFmpeg" in req or b"Lavf" in req for req in seen
    )  # OpenCV's own RTSP client tried first


def test_closed_rtsp_port_reports_no_signal(loopback_port: int) -> None:
    assert probe_rtsp(f"rtsp://127.0.0.1:{loopback_port}/live", timeout_s=1) == "no_signal"


def test_silent_rtsp_camera_gives_up_after_the_network_timeout() -> None:
    # A camera that accepts the connection and never answers: OpenCV alone would wait 30 s.
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)
        port = srv.getsockname()[1]
        cap = Capture(f"rtsp://127.0.0.1:{port}/live", network_timeout_s=1.0, sleep=no_sleep)
        started = time.monotonic()
        assert cap.read() is None
        assert time.monotonic() - started < 10
        assert cap.reason == "no_signal"
