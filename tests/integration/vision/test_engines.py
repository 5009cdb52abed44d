"""The two engines that can run the person network find the same people on real footage.

OpenVINO runs the graph up to the box predictors and our numpy head does the rest; OpenCV runs the
whole graph with its own `DetectionOutput`. A camera must count the same whichever is installed.
Needs `make models media`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from edge_agent.vision.capture import Capture
from edge_agent.vision.detect import DetectorSettings, build_person_detector
from edge_agent.vision.media import default_media_dir
from edge_agent.vision.models import default_models_dir
from tests.support.media import require

MODELS = default_models_dir()
VTEST = default_media_dir() / "vtest.avi"


@pytest.fixture(autouse=True)
def _media_present() -> None:
    require(MODELS / "cache" / "ssdlite_person.pb", VTEST)


def every_nth_frame(n: int) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    with Capture(str(VTEST), resize=(640, 480)) as cap:
        k = 0
        while (item := cap.read()) is not None:
            if k % n == 0:
                out.append(item[1])
            k += 1
    return out


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    iw = np.clip(np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1]), 0, None)
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    out: np.ndarray = inter / union
    return out


def assert_same_people(a: np.ndarray, b: np.ndarray, where: str) -> None:
    assert len(a) == len(b), f"{where}: opencv {len(a)} people, openvino {len(b)}"
    for box in a:
        best = int(np.argmax(iou(box, b)))
        assert iou(box, b)[best] > 0.99, f"{where}: {box} has no twin in {b}"
        assert abs(float(b[best, 4]) - float(box[4])) < 0.01


def test_openvino_finds_the_same_people_as_opencv_on_vtest() -> None:
    settings = {"tiles": [2, 1], "score_threshold": 0.15}
    cv = build_person_detector(DetectorSettings(**settings, runtime="opencv"), MODELS)
    ov = build_person_detector(DetectorSettings(**settings, runtime="openvino"), MODELS)
    assert (cv.engine.name, ov.engine.name) == ("opencv", "openvino")  # type: ignore[attr-defined]
    frames = every_nth_frame(40)
    people = close_ups = 0
    for k, frame in enumerate(frames):
        a, b = cv.detect(frame), ov.detect(frame)
        people += len(a)
        assert_same_people(a, b, f"frame {k * 40}")
        # Close-ups: small crops scaled up, the other resize direction.
        crops = [(200, 100, 360, 260), (0, 0, 120, 480)]
        a, b = cv.detect_crops(frame, crops), ov.detect_crops(frame, crops)  # type: ignore[attr-defined]
        assert_same_people(a, b, f"frame {k * 40}, close-ups")
        close_ups += len(a)
    # vtest has 4-8 people in every frame: the comparison saw them.
    assert people >= 4 * len(frames) and close_ups >= len(frames)


def test_a_person_filling_a_close_up_gets_the_same_box_from_either_engine() -> None:
    """The biggest anchors sit on the last, 1x1 feature map, where OpenCV's dnn got the 3x3
    depthwise layers wrong: tight close-ups around one person, as the crowd passes take them, must
    still find the same people whichever engine runs."""
    cv = build_person_detector(DetectorSettings(runtime="opencv"), MODELS)
    ov = build_person_detector(DetectorSettings(runtime="openvino"), MODELS)
    seen = 0
    for k, frame in enumerate(every_nth_frame(60)):
        for x1, y1, x2, y2, _ in ov.detect(frame):
            for pad in (0.05, 0.2):
                dx, dy = pad * (x2 - x1), pad * (y2 - y1)
                crop = (int(x1 - dx), int(y1 - dy), int(x2 + dx), int(y2 + dy))
                a = cv.detect_crops(frame, [crop])  # type: ignore[attr-defined]
                b = ov.detect_crops(frame, [crop])  # type: ignore[attr-defined]
                assert_same_people(a, b, f"frame {k * 60}, close-up {crop}")
                seen += len(a)
    assert seen >= 50


def run_python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter, so what it does to `sys.modules` stays there."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def run_without_openvino(code: str) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter where `import openvino` fails, as on a PC without it."""
    return run_python("import sys\nsys.modules['openvino'] = None\n" + textwrap.dedent(code))


def test_without_openvino_auto_falls_back_to_opencv_and_a_forced_runtime_says_how_to_fix() -> None:
    done = run_without_openvino(
        f"""
        from pathlib import Path
        from edge_agent.vision.detect import DetectorSettings, build_person_detector
        from edge_agent.vision.models import VisionModelError
        det = build_person_detector(DetectorSettings(), Path({str(MODELS)!r}))
        print("auto:", det.engine.name)
        try:
            build_person_detector(DetectorSettings(runtime="openvino"), Path({str(MODELS)!r}))
        except VisionModelError as exc:  # the camera worker reports it, and does not restart
            print("forced:", exc)
        """
    )
    assert done.returncode == 0, done.stderr
    assert "auto: opencv" in done.stdout
    assert "forced: detector.runtime is openvino but the openvino package is not installed" in (
        done.stdout
    )
    assert "detector.runtime: opencv" in done.stdout


def test_openvino_reports_nothing_about_its_use(tmp_path: Path) -> None:
    """OpenVINO's tools count and report each import (Google Analytics) unless opted out.

    The engine cuts that off: no usage count, no client id under the home folder, no reporting
    package loaded. (A branch PC talks to its headquarters and nothing else: docs/privacy.md.)
    """
    code = f"""
        import sys
        from pathlib import Path
        import numpy as np
        from edge_agent.vision.detect import DetectorSettings, build_person_detector
        det = build_person_detector(DetectorSettings(runtime="openvino"), Path({str(MODELS)!r}))
        det.detect(np.zeros((480, 640, 3), np.uint8))
        print("engine:", det.engine.name)
        print("loaded:", sys.modules.get("openvino_telemetry") is not None)
        """
    done = run_python(code, env={**os.environ, "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "engine: openvino" in done.stdout
    assert "loaded: False" in done.stdout
    assert list(tmp_path.iterdir()) == []  # no ~/intel/openvino_ga_cid, no usage stats


def test_a_broken_openvino_hands_over_to_opencv_under_auto_and_stops_a_forced_camera() -> None:
    """Installed but unusable: here its CPU plugin will not load, as on a CPU its build lacks."""
    code = f"""
        import openvino

        class NoCpu:
            def compile_model(self, *args, **kwargs):
                raise RuntimeError("Exception from src/inference/src/cpp/core.cpp:112:\\n"
                                   "Device with \\"CPU\\" name is not registered")

        openvino.Core = NoCpu
        from pathlib import Path
        import numpy as np
        from edge_agent.vision.detect import DetectorSettings, build_person_detector
        from edge_agent.vision.models import VisionModelError
        det = build_person_detector(DetectorSettings(), Path({str(MODELS)!r}))
        det.detect(np.zeros((480, 640, 3), np.uint8))
        print("auto:", det.engine.name)
        try:
            build_person_detector(DetectorSettings(runtime="openvino"), Path({str(MODELS)!r}))
        except VisionModelError as exc:
            print("forced:", exc)
        """
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert "auto: opencv" in done.stdout
    assert "OpenVINO cannot run the person network (RuntimeError: Exception from" in done.stderr
    assert "name is not registered); using OpenCV" in done.stderr
    assert "forced: OpenVINO cannot run the person network (RuntimeError" in done.stdout
    assert "set detector.runtime: auto or opencv" in done.stdout


def test_openvino_failing_on_a_pass_hands_over_to_opencv_and_the_camera_counts_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A network pass that fails after OpenVINO loaded (a plugin fault) must not leave the camera
    restarting into the same fault: under `auto` OpenCV takes over at once, says so once, and the
    replay counts what an OpenCV camera counts, with the report naming the engine that ran."""
    from edge_agent.settings.cameras import CameraSettings
    from edge_agent.vision.detect.engines import OpenVinoEngine
    from edge_agent.vision.replay import replay

    passes = 0
    forward = OpenVinoEngine.forward

    def faulty(
        self: OpenVinoEngine, images: list[np.ndarray], min_score: float = 0.0
    ) -> np.ndarray:
        nonlocal passes
        passes += 1
        if passes > 5:
            raise RuntimeError("Exception from src/plugins/intel_cpu/src/node.cpp:42: boom")
        return forward(self, images, min_score)

    def camera(runtime: str) -> CameraSettings:
        return CameraSettings.model_validate(
            {
                "id": "lobby",
                "source": str(VTEST),
                "lines": [{"id": "mid", "points": [[0.45, 0.24], [0.45, 0.56]]}],
                "detector": {"crowd_load": None, "runtime": runtime},
            }
        )

    opencv = replay(VTEST, camera("opencv"), MODELS, max_frames=150, keep_frames=True)
    monkeypatch.setattr(OpenVinoEngine, "forward", faulty)
    auto = replay(VTEST, camera("auto"), MODELS, max_frames=150, keep_frames=True)
    said = capsys.readouterr().err
    assert passes > 5  # OpenVINO ran, then failed
    assert said.count("OpenVINO failed on a pass of the person network") == 1
    assert "node.cpp:42: boom); using OpenCV from now on" in said
    assert (auto.frames, auto.runtime, opencv.runtime) == (150, "opencv", "opencv")
    assert [r.engine for r in auto.per_frame][:1] == ["openvino"]
    assert auto.per_frame[-1].engine == "opencv"
    # The same people, frame by frame, as a camera that ran OpenCV from the start.
    assert [r.people for r in auto.per_frame] == [r.people for r in opencv.per_frame]
    assert sum(r.people for r in auto.per_frame) >= 150 * 3
    assert auto.lines == opencv.lines
