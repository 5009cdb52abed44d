"""Capture on real video files (cv2.VideoWriter) and the RTSP probe against a loopback peer."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from edge_agent.vision.capture import MAX_WAIT_S, Capture, fit_size, probe_rtsp


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


@pytest.mark.parametrize(
    ("size", "box", "want"),
    [
        ((128, 72), (64, 48), (64, 36)),  # a 16:9 camera in a 4:3 box: people keep their shape
        ((48, 64), (64, 48), (36, 48)),  # a camera turned on its side
        ((128, 72), (64, None), (64, 36)),  # only a width: the height follows
        ((32, 24), (64, 48), (64, 48)),  # a small picture is scaled up to fill the box
    ],
)
def test_resize_fits_the_box_and_keeps_the_shape(
    tmp_path: Path,
    size: tuple[int, int],
    box: tuple[int | None, int | None],
    want: tuple[int, int],
) -> None:
    video = write_video(tmp_path / "v.avi", 3, fps=5, size=size)
    with Capture(str(video), resize=box) as cap:
        frames = drain(cap)
    assert {(f.shape[1], f.shape[0]) for _, f in frames} == {want}


@given(
    st.integers(1, 8000),
    st.integers(1, 8000),
    st.one_of(st.none(), st.integers(64, 4096)),
    st.one_of(st.none(), st.integers(64, 4096)),
)
def test_a_fitted_size_stays_in_the_box_and_keeps_the_shape(
    w: int, h: int, bw: int | None, bh: int | None
) -> None:
    fw, fh = fit_size(w, h, bw, bh)
    if bw is None and bh is None:
        assert (fw, fh) == (w, h)
        return
    assert fw >= 1 and fh >= 1
    assert (bw is None or fw <= bw) and (bh is None or fh <= bh)
    assert bw == fw or bh == fh  # it fills the box one way
    # the shape is kept to within rounding (a side is never below one pixel)
    assert abs(fw * h - fh * w) <= w + h


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
    assert cap.detail == f"no file at {tmp_path / 'nope.avi'}"


def test_corrupt_file_reports_decode_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00AVI LIST" + bytes(range(256)) * 20)
    cap = Capture(str(bad), sleep=no_sleep)
    assert cap.read() is None
    assert cap.reason == "decode_error"
    assert cap.ended
    assert "bad.avi is not a video" in cap.detail


def test_missing_video_device_reports_no_signal() -> None:
    cap = Capture("/dev/video99", sleep=no_sleep)
    assert cap.read() is None
    assert cap.reason == "no_signal"
    assert "/dev/video99 gives no picture" in cap.detail
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


@contextlib.contextmanager
def loopback_peer(handle: Callable[[socket.socket], None], name: str) -> Iterator[int]:
    """A thread passing each loopback TCP connection to `handle`, one at a time; yields the port.
    A client that hangs up or times out (OSError) just ends its connection."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            with conn, contextlib.suppress(OSError):
                conn.settimeout(1)
                handle(conn)

    thread = threading.Thread(target=serve, name=name, daemon=True)
    thread.start()
    try:
        yield srv.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        srv.close()


@pytest.fixture
def rtsp_server() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback RTSP peer that challenges for Digest credentials; records every request."""
    seen: list[bytes] = []

    def handle(conn: socket.socket) -> None:
        buf = b""
        while chunk := conn.recv(4096):
            buf += chunk
            while b"\r\n\r\n" in buf:
                req, buf = buf.split(b"\r\n\r\n", 1)
                seen.append(req)
                conn.sendall(rtsp_reply(req))

    with loopback_peer(handle, "rtsp-stub") as port:
        yield port, seen


def test_wrong_rtsp_password_reports_auth_failed(rtsp_server: tuple[int, list[bytes]]) -> None:
    port, seen = rtsp_server
    assert probe_rtsp(f"rtsp://cam:wrong@127.0.0.1:{port}/live") == "auth_failed"
    assert any(b"Digest" in req for req in seen)
    assert not any(b"wrong" in req for req in seen)  # the password itself never goes on the wire


def test_a_refused_login_is_explained_by_host_and_port_never_the_password(
    rtsp_server: tuple[int, list[bytes]],
) -> None:
    port, _seen = rtsp_server
    cap = Capture(f"rtsp://cam:wrong-pw@127.0.0.1:{port}/live", sleep=no_sleep)
    assert cap.read() is None
    assert cap.reason == "auth_failed"
    assert cap.detail.startswith(f"rtsp://127.0.0.1:{port} refused the user and password")
    assert "wrong-pw" not in cap.detail and "cam" not in cap.detail
    cap.close()


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


# --- sources and replies no camera should send: a reason, never an exception -------------------

REASONS = {"ok", "no_signal", "frozen", "auth_failed", "decode_error"}
#: Text with NUL and unpaired surrogates too (OpenCV crashed the process on those).
any_text = st.text(st.characters(exclude_categories=()), max_size=12)
#: Hosts that need no DNS: loopback literals, and hosts no resolver would look up.
hosts = st.sampled_from(["127.0.0.1", "[::1]", "[::1", "::1]", "[", "]", "", "0", "[v1.x]"])
urls = st.builds(
    "{}://{}{}{}{}".format,
    st.sampled_from(["rtsp", "rtsps", "http", "RTSP"]),
    st.one_of(st.just(""), st.text(alphabet=":%[]aZ0 \x00é\udcff", max_size=8).map("{}@".format)),
    hosts,
    st.one_of(st.just(""), st.text(alphabet="0123456789ab-+ ٣", max_size=7).map(":{}".format)),
    st.one_of(st.just(""), any_text.map("/{}".format)),
)
sources = st.one_of(
    any_text,
    urls,
    st.from_regex(r"\A/dev/video[0-9٣]{3,25}\n?\Z"),  # no camera this high; a real one may exist
)


@settings(max_examples=150, deadline=None)
@given(source=sources)
def test_any_source_string_reads_none_with_a_reason_never_an_exception(source: str) -> None:
    cap = Capture(source, sleep=no_sleep, network_timeout_s=0.5)
    started = time.monotonic()
    for _ in range(2):
        assert cap.read() is None
    assert cap.reason in REASONS - {"ok"}
    assert time.monotonic() - started < 5
    cap.close()


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("rtsp://cam:abc/live", "port"),  # a password where the port goes, or a port typo
        ("rtsp://127.0.0.1:99999/live", "port"),
        ("rtsp://[::1/live", "parse"),
        ("rtsp:///live", "no host"),
        ("rtsp://127.0.0.1/\udcff", "not valid text"),
        ("/tmp/\udcff.avi", "not valid text"),
        ("rtsp://127.0.0.1/a\x00b", "not valid text"),
    ],
)
def test_unusable_source_reports_no_signal_and_says_why_without_the_url(
    source: str, why: str
) -> None:
    cap = Capture(source, sleep=no_sleep, network_timeout_s=0.5)
    assert cap.read() is None
    assert cap.reason == "no_signal"
    assert why in cap.detail
    assert "abc" not in cap.detail and "::1" not in cap.detail  # the URL may hold a password


def test_unresolvable_host_and_huge_device_number_report_no_signal() -> None:
    for source in ("rtsp://a..b/live", "/dev/video99999999999999999999"):
        cap = Capture(source, sleep=no_sleep, network_timeout_s=0.5)
        assert cap.read() is None
        assert cap.reason == "no_signal"


@pytest.fixture
def rtsp_peer() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback peer answering each request with the next of `replies`; it hangs up after
    the last one, or after one without the blank line that ends an RTSP reply."""
    replies: list[bytes] = []

    def handle(conn: socket.socket) -> None:
        for reply in list(replies):
            if not conn.recv(4096):
                return
            conn.sendall(reply)
            if b"\r\n\r\n" not in reply:
                return  # the probe reads on until the reply ends: hang up

    with loopback_peer(handle, "rtsp-fuzz-peer") as port:
        yield port, replies


replies = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda b: b"RTSP/1.0 401 Unauthorized\r\nWWW-Authenticate: " + b, st.binary()),
    st.builds(
        lambda code, rest: b"RTSP/1.0 %d " % code + rest + b"\r\n\r\n",
        st.integers(0, 999),
        st.binary(max_size=20),
    ),
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=replies, second=replies, user=st.sampled_from(["", "cam:pw@", "cam@", ":x@"]))
def test_any_reply_bytes_give_the_rtsp_probe_a_reason(
    rtsp_peer: tuple[int, list[bytes]], first: bytes, second: bytes, user: str
) -> None:
    port, answers = rtsp_peer
    answers[:] = [first, second]
    started = time.monotonic()
    reason = probe_rtsp(f"rtsp://{user}127.0.0.1:{port}/live", timeout_s=0.5)
    event(reason)
    assert reason in REASONS
    assert time.monotonic() - started < 3


def test_a_camera_trickling_its_reply_is_given_up_on_after_the_timeout() -> None:
    # One byte every 0.1 s never trips a 0.5 s socket timeout: only a deadline ends the probe.
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        stop = threading.Event()

        def trickle() -> None:
            conn, _ = srv.accept()
            with conn:
                while not stop.is_set():
                    try:
                        conn.sendall(b"R")
                    except OSError:
                        return
                    time.sleep(0.1)

        thread = threading.Thread(target=trickle, name="rtsp-trickle", daemon=True)
        thread.start()
        started = time.monotonic()
        reason = probe_rtsp(f"rtsp://127.0.0.1:{srv.getsockname()[1]}/live", timeout_s=0.5)
        elapsed = time.monotonic() - started
        stop.set()
        thread.join(5)
    assert reason == "no_signal"
    assert elapsed < 2


@pytest.mark.parametrize(("width", "height"), [(128, 96), (128, None), (None, 72)])
def test_a_wide_camera_keeps_its_shape_with_the_config_defaults_or_one_side(
    tmp_path: Path, width: int | None, height: int | None
) -> None:
    from edge_agent.settings.cameras import CameraSettings
    from edge_agent.vision.worker import open_source

    video = write_video(tmp_path / "wide.avi", 3, fps=5, size=(256, 144))
    cam = CameraSettings.model_validate(
        {"id": "door", "source": str(video), "width": width, "height": height}
    )
    source = open_source(cam, loop=False)
    try:
        got = source.read()
    finally:
        source.close()
    assert got is not None
    assert got[1].shape[:2] == (72, 128)
