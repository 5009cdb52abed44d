"""Vision pipeline speed on vtest (640x480): 1 camera and 4 concurrent camera worker processes.

Each figure is printed next to the bare detector's fps measured in the same run, on the same
frames, so the ratios say what tracking, counting and capture cost on top of the detector, and
what 4 cameras sharing this machine get each. Run: `.venv/bin/python -m bench.vision` (needs
`edge-agent models fetch` and `python -m edge_agent.vision.media fetch` first).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
from pathlib import Path
from typing import Any

from edge_agent.cli.vision_cmd import load_camera_file

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT / "media/cache/vtest.avi"
CONFIG = ROOT / "config/cameras/vtest.yaml"
MODELS = ROOT / "models"


def load(
    config: Path | str, focus: bool | None, crowd: int | None = None, runtime: str | None = None
) -> Any:
    """The camera config, with `detector.focus`, `crowd_passes` and `runtime` forced when asked."""
    cam = load_camera_file(Path(config), None)
    forced = {"focus": focus, "crowd_passes": crowd, "runtime": runtime}
    forced = {k: v for k, v in forced.items() if v is not None}
    if forced:
        cam = cam.model_copy(update={"detector": {**cam.detector, **forced}})
    return cam


def detector_fps(
    config: Path, frames: int, video: Path = VIDEO, runtime: str | None = None
) -> float:
    """The bare person detector on pre-decoded, pre-resized frames: the baseline."""
    import cv2
    import numpy as np

    from edge_agent.vision.capture import fit_size
    from edge_agent.vision.detect import DetectorSettings, build_person_detector

    cam = load(config, None, None, runtime)
    det = build_person_detector(DetectorSettings.model_validate(cam.detector), MODELS)
    cap = cv2.VideoCapture(str(video))
    batch: list[np.ndarray] = []
    while len(batch) < frames:
        ok, f = cap.read()
        if not ok:
            break
        size = fit_size(f.shape[1], f.shape[0], cam.width, cam.height)
        batch.append(cv2.resize(f, size, interpolation=cv2.INTER_AREA))
    cap.release()
    det.detect(batch[0])  # warm-up
    t = time.perf_counter()
    for f in batch:
        det.detect(f)
    return len(batch) / (time.perf_counter() - t)


def pipeline_fps(
    config: str,
    frames: int,
    video: str = str(VIDEO),
    focus: bool | None = None,
    crowd: int | None = None,
    runtime: str | None = None,
) -> dict[str, Any]:
    """The full pipeline (capture, gate, detect, track, count) at full speed, as the worker runs it.

    Frames are fed as fast as the pipeline takes them, but its load average runs on the video's
    timestamps, so close-ups run only where the same camera live would have CPU to spare.
    """
    from edge_agent.vision.replay import replay
    from edge_agent.vision.worker import build_pipeline

    cam = load(config, focus, crowd, runtime)
    pipe = build_pipeline(cam, MODELS)
    report = replay(Path(video), cam, MODELS, pipeline=pipe, max_frames=frames)
    return {
        "fps": report.fps,
        "frames": report.frames,
        "detector_runs": report.detector_runs,
        "passes": getattr(pipe.detector, "passes", None),
        "close_ups": report.close_ups,
        "runtime": pipe.engine,
    }


def concurrent(
    config: Path,
    frames: int,
    cameras: int,
    video: Path,
    focus: bool | None,
    crowd: int | None,
    runtime: str | None = None,
) -> list[dict[str, Any]]:
    ctx = mp.get_context("spawn")
    with ctx.Pool(cameras) as pool:
        return pool.starmap(
            pipeline_fps, [(str(config), frames, str(video), focus, crowd, runtime)] * cameras
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300, help="frames per camera (vtest has 795)")
    ap.add_argument("--cameras", type=int, default=4)
    ap.add_argument("--config", type=Path, default=CONFIG)
    ap.add_argument("--video", type=Path, default=VIDEO)
    ap.add_argument(
        "--focus",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="force detector.focus (tile passes only where motion or tracks are)",
    )
    ap.add_argument(
        "--crowd-passes",
        type=int,
        default=None,
        help="force detector.crowd_passes (close-ups of people standing together; 0: off)",
    )
    ap.add_argument(
        "--runtime",
        choices=("auto", "openvino", "opencv"),
        default=None,
        help="force detector.runtime for the pipelines (what runs the network)",
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    n = min(args.frames, 200)
    base = detector_fps(args.config, n, args.video, args.runtime)
    opencv = detector_fps(args.config, n, args.video, "opencv")
    one = pipeline_fps(
        str(args.config), args.frames, str(args.video), args.focus, args.crowd_passes, args.runtime
    )
    many = concurrent(
        args.config,
        args.frames,
        args.cameras,
        args.video,
        args.focus,
        args.crowd_passes,
        args.runtime,
    )
    each = [m["fps"] for m in many]
    result = {
        "runtime": one["runtime"],
        "detector_fps": round(base, 1),
        "detector_fps_opencv": round(opencv, 1),
        "ratio_detector_vs_opencv": round(base / opencv, 2),
        "pipeline_1cam_fps": round(one["fps"], 1),
        "pipeline_1cam_detector_runs": one["detector_runs"],
        "pipeline_1cam_network_passes": one["passes"],
        "pipeline_1cam_close_ups": one["close_ups"],
        "ratio_1cam_vs_detector": round(one["fps"] / base, 2),
        f"pipeline_{args.cameras}cam_fps_each": [round(x, 1) for x in each],
        f"pipeline_{args.cameras}cam_fps_min": round(min(each), 1),
        f"ratio_{args.cameras}cam_min_vs_detector": round(min(each) / base, 2),
        f"pipeline_{args.cameras}cam_close_ups_each": [m["close_ups"] for m in many],
        "frames": args.frames,
        "config": str(args.config),
        "video": str(args.video),
        "focus": args.focus,
        "crowd_passes": args.crowd_passes,
        "runtime_forced": args.runtime,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for k, v in result.items():
            print(f"{k:32} {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
