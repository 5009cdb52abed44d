"""Counting accuracy of the real replay pipeline on a video with MOTChallenge ground truth.

Runs `edge_agent.vision.replay` ONCE with many counting lines in the camera config and scores every
line and direction against the ground truth, plus per-frame occupancy. Not shipped in the daemon;
the ground truth (MOT15, CC BY-NC-SA) is for evaluation only.

Lines: the 5 hand-drawn lines of tests/integration/vision/test_accuracy.py plus random segments
(vertical, horizontal, diagonal; 0.15-0.6 of the frame long) centred where ground-truth foot points
really pass. Two fixed seeds make two disjoint sets: `tune` (the hand-drawn lines and seed 1) is
what settings may be tuned on; `held-out` (seed 2) is only looked at to check that a change
generalises. A line is kept when the ground truth crosses it at least `--min-gt` times each way.

Truth for a line = the production line rule (`LineCounter`) fed every ground-truth foot point of
every frame: with perfect boxes the line logic is exact, so every error left is the detector's or
the tracker's.

Figures:
- accuracy per line and direction = max(0, 1 - |pred - gt| / gt)  (1.0 = exact; a line-direction
  with 20 truths and 19 counted scores 0.95); `mean` is over all line-directions of a set;
- `at_95` = share of line-directions with accuracy >= 0.95 (the product goal);
- `crossings_right` = sum(min(pred, gt)) / sum(max(pred, gt)) over all line-directions: misses and
  extra counts both lower it, and they never cancel out;
- occupancy MAE = mean over frames of |people the pipeline reports - ground-truth boxes|;
- zone MAE, per zone of `ZONES` (halves, centre, a corner) = mean over frames of |people the zone
  reports - ground-truth foot points inside it|.

Detections can be cached per detector setting (`--cache DIR`, with `--set detector.focus=false
--set detector.crowd_passes=0`: focused passes and close-ups depend on the tracks), so tracker and
line experiments rerun in seconds; the
`detector` figure is recall/precision (IoU >= 0.5) of the boxes seen. `id_switches` counts a true
person matched to another track id than before; `--appearance W` sets the tracker's colour-cue
weight (0: off) over the camera's `tracker.appearance_weight`. `--fast` decodes no frames, so the
colour cue has no pixels to compare there: compare `--fast` figures only with each other.

    .venv/bin/python tools/vision_eval.py --json
    .venv/bin/python tools/vision_eval.py --set detector.tiles=[1,1] --set detect_fps=10
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from edge_agent.settings.cameras import CameraSettings, LineSettings, ZoneSettings  # noqa: E402
from edge_agent.vision.counting import Crossing, LineCounter, TrackPoint  # noqa: E402
from edge_agent.vision.geometry import point_in_polygon  # noqa: E402
from tools.zoomed_view import Window, move_truth, parse_view, write_video  # noqa: E402

GT = Path(
    os.environ.get("EDGE_AGENT_GT") or ROOT.parent / "shared" / "media" / "pets09-s2l1-gt.txt"
)
VIDEO = ROOT / "media/cache/vtest.avi"
CONFIG = ROOT / "config/cameras/vtest.yaml"
MODELS = ROOT / "models"
GT_SIZE = (768, 576)  # pixel size the ground truth is annotated in
GT_FPS = 10.0
SEEDS = {"tune": 1, "held-out": 2}
FULL = (0.01, 0.01, 0.99, 0.99)
SEEN, WHOLE = 0.5, 0.9  # share of a true box in the picture to count as present / as seen whole
ZONES: dict[str, list[tuple[float, float]]] = {  # zone occupancy is scored on these
    "left": [(0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)],
    "right": [(0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0)],
    "centre": [(0.3, 0.3), (0.7, 0.3), (0.7, 0.7), (0.3, 0.7)],
    "lower-right": [(0.55, 0.55), (0.95, 0.55), (0.95, 0.95), (0.55, 0.95)],
}
HAND_DRAWN = [
    ("ref", ((0.45, 0.24), (0.45, 0.56))),
    ("middle", ((0.10, 0.50), (0.90, 0.50))),
    ("east", ((0.70, 0.20), (0.70, 0.90))),
    ("diagonal", ((0.20, 0.30), (0.60, 0.80))),
    ("west", ((0.25, 0.10), (0.25, 0.90))),
]

Boxes = npt.NDArray[np.float32]
Seg = tuple[tuple[float, float], tuple[float, float]]
Totals = dict[str, dict[str, int]]


@dataclass(frozen=True, slots=True)
class Truth:
    """Ground truth of one video: boxes per frame (pixels) and foot points per frame (0..1)."""

    boxes: dict[int, Boxes]
    feet: dict[int, list[tuple[int, tuple[float, float]]]]
    frames: int
    bounds: tuple[float, float, float, float] = FULL  # where lines may go

    def seen(self, k: int) -> Boxes:
        """Frame `k`'s boxes that show in the picture (pixels)."""
        b = self.boxes.get(k)
        return np.zeros((0, 5), np.float32) if b is None else b[b[:, 4] >= SEEN]

    def shown(self, k: int) -> dict[int, float]:
        """Person id -> share of their box in the picture, in frame `k`."""
        b = self.boxes.get(k)
        rows = b if b is not None else []
        return {pid: float(r[4]) for (pid, _), r in zip(self.feet.get(k, []), rows, strict=True)}

    def seen_ids(self, k: int) -> list[int]:
        return [pid for pid, share in self.shown(k).items() if share >= SEEN]

    def whole(self, k: int, pid: int) -> bool:
        """Whether person `pid` shows (almost) whole in frame `k`."""
        return self.shown(k).get(pid, 0.0) >= WHOLE

    def zoomed(self, win: Window) -> Truth:
        """The truth of the window's picture (see zoomed_view.py): lines keep off its edges."""
        fx, fy = win.x1 / GT_SIZE[0], win.y1 / GT_SIZE[1]
        fw, fh = (win.x2 - win.x1) / GT_SIZE[0], (win.y2 - win.y1) / GT_SIZE[1]
        moved = move_truth(self.boxes, win)
        feet = {
            k: [(pid, ((x - fx) / fw, (y - fy) / fh)) for pid, (x, y) in v]
            for k, v in self.feet.items()
        }
        return Truth(moved, feet, self.frames, bounds=(0.05, 0.05, 0.95, 0.88))


def load_truth(path: Path = GT, size: tuple[int, int] = GT_SIZE) -> Truth:
    """MOTChallenge `frame,id,x,y,w,h,...` (frames from 1) into 0-based per-frame tables."""
    boxes: dict[int, list[list[float]]] = defaultdict(list)
    feet: dict[int, list[tuple[int, tuple[float, float]]]] = defaultdict(list)
    for row in path.read_text().splitlines():
        f, i, x, y, w, h = (float(v) for v in row.split(",")[:6])
        k = int(f) - 1
        boxes[k].append([x, y, x + w, y + h, 1.0])
        feet[k].append((int(i), ((x + w / 2) / size[0], (y + h) / size[1])))
    arrays = {k: np.asarray(v, dtype=np.float32) for k, v in boxes.items()}
    return Truth(arrays, dict(feet), max(arrays) + 1)


def truth_counts(truth: Truth, lines: list[LineSettings]) -> Totals:
    """What the production line rule counts when fed every ground-truth foot point."""
    return truth_crossings(truth, lines)[0]


def truth_crossings(truth: Truth, lines: list[LineSettings]) -> tuple[Totals, list[Crossing]]:
    counter = LineCounter(lines, stitch=False)  # ground-truth identities never break
    found: list[Crossing] = []
    for k in range(truth.frames):
        pts = [TrackPoint(pid, foot, True) for pid, foot in truth.feet.get(k, [])]
        found += counter.update(k / GT_FPS, pts)
    return counter.totals, found


def random_lines(truth: Truth, seed: int, n: int, min_gt: int, prefix: str) -> list[LineSettings]:
    """`n` random segments through places people walk, each crossed >= `min_gt` times each way."""
    rng = random.Random(seed)
    x1, y1, x2, y2 = truth.bounds
    feet = [
        f
        for k in sorted(truth.feet)
        for _, f in truth.feet[k]
        if truth.bounds == FULL
        or (x1 + 0.05 <= f[0] <= x2 - 0.05 and y1 + 0.05 <= f[1] <= y2 - 0.05)
    ]
    out: list[LineSettings] = []
    for _ in range(n * 40):  # bounded: most candidates are crossed often enough
        if len(out) == n:
            break
        cx, cy = feet[rng.randrange(len(feet))]
        kind = rng.choice(("vertical", "horizontal", "diagonal"))
        angle = {"vertical": 90.0, "horizontal": 0.0}.get(
            kind, rng.uniform(20, 70) * rng.choice((1, -1))
        )
        half = rng.uniform(0.15, 0.6) / 2
        dx, dy = half * math.cos(math.radians(angle)), half * math.sin(math.radians(angle))
        a = (_within(cx - dx, x1, x2), _within(cy - dy, y1, y2))
        b = (_within(cx + dx, x1, x2), _within(cy + dy, y1, y2))
        if math.dist(a, b) < 0.1:
            continue
        if rng.random() < 0.5:
            a, b = b, a  # either drawing direction, so `in` is sometimes each way
        line = LineSettings(id=f"{prefix}{len(out):02d}", points=[a, b])
        totals, found = truth_crossings(truth, [line])
        if min(totals[line.id].values()) < min_gt:
            continue
        # In a zoomed view, a line is fair where the people crossing it are in the picture whole:
        # nobody draws a counting line where the camera sees only legs.
        if truth.bounds == FULL or all(
            truth.whole(round(c.ts * GT_FPS), c.track_id) for c in found
        ):
            out.append(line)
    return out


def _within(v: float, lo: float, hi: float) -> float:
    return round(min(max(v, lo), hi), 3)


def line_sets(truth: Truth, n: int, min_gt: int) -> dict[str, list[LineSettings]]:
    hand = [LineSettings(id=i, points=[a, b]) for i, (a, b) in HAND_DRAWN]
    if truth.bounds != FULL:  # drawn for the whole picture, not for a zoomed view
        hand = []
    return {
        "tune": hand + random_lines(truth, SEEDS["tune"], n, min_gt, "t"),
        "held-out": random_lines(truth, SEEDS["held-out"], n, min_gt, "h"),
    }


def score(pred: Totals, gt: Totals) -> dict[str, Any]:
    acc = {
        f"{k}.{d}": max(0.0, 1 - abs(pred[k][d] - gt[k][d]) / gt[k][d])
        for k in gt
        for d in ("in", "out")
    }
    lo = sum(min(pred[k][d], gt[k][d]) for k in gt for d in ("in", "out"))
    hi = sum(max(pred[k][d], gt[k][d]) for k in gt for d in ("in", "out"))
    over = sum(max(pred[k][d] - gt[k][d], 0) for k in gt for d in ("in", "out"))
    under = sum(max(gt[k][d] - pred[k][d], 0) for k in gt for d in ("in", "out"))
    vals = list(acc.values())
    return {
        "lines": len(gt),
        "mean": round(sum(vals) / len(vals), 4),
        "min": round(min(vals), 4),
        "at_95": round(sum(v >= 0.95 for v in vals) / len(vals), 3),
        "crossings_right": round(lo / max(hi, 1), 4),
        "gt_crossings": sum(gt[k][d] for k in gt for d in ("in", "out")),
        "over": over,
        "under": under,
        "per_line": {k: round(v, 3) for k, v in acc.items()},
    }


class CachedDetector:
    """Wraps a detector; remembers its boxes per frame index, keyed by the detector settings.

    The frame index comes from the pipeline (`frames - 1` while it processes a frame), so gating
    and detector rate behave exactly as without the cache.
    """

    def __init__(self, inner: Any, pipe: Any, path: Path | None, *, strict: bool = False) -> None:
        self.inner, self.pipe, self.path, self.strict = inner, pipe, path, strict
        self.boxes: dict[int, Boxes] = {}
        if path is not None and path.is_file():
            with np.load(path) as z:
                self.boxes = {int(k): z[k] for k in z.files}
        self.added = 0

    def detect(self, frame_bgr: npt.NDArray[np.uint8]) -> Boxes:
        k = int(self.pipe.frames) - 1
        if k not in self.boxes:
            if self.strict:
                raise SystemExit(f"frame {k} is not in the cache {self.path}: run without --fast")
            self.boxes[k] = np.asarray(self.inner.detect(frame_bgr), dtype=np.float32)
            self.added += 1
        return self.boxes[k]

    def detect_where(self, frame_bgr: npt.NDArray[np.uint8], boxes: Any) -> Boxes:
        """Focused detection depends on the tracks, so it is never cached."""
        if not getattr(getattr(self.inner, "settings", None), "focus", False):
            return self.detect(frame_bgr)
        if self.path is not None:
            raise SystemExit(
                "focused detection depends on the tracks and cannot be cached: "
                "add --set detector.focus=false, or run without --cache"
            )
        k = int(self.pipe.frames) - 1
        self.boxes[k] = np.asarray(self.inner.detect_where(frame_bgr, boxes), dtype=np.float32)
        return self.boxes[k]

    @property
    def settings(self) -> Any:
        return getattr(self.inner, "settings", None)

    @property
    def passes(self) -> int:
        """Network passes the real detector ran (the close-up budget times them)."""
        return int(getattr(self.inner, "passes", 0))

    def detect_crops(self, frame_bgr: npt.NDArray[np.uint8], crops: Any) -> Boxes:
        """Crowd passes depend on the tracks, so they are never cached."""
        if self.path is not None:
            raise SystemExit(
                "crowd passes depend on the tracks and cannot be cached: "
                "add --set detector.crowd_passes=0, or run without --cache"
            )
        return np.asarray(self.inner.detect_crops(frame_bgr, crops), dtype=np.float32)

    def save(self) -> None:
        if self.path is not None and self.added:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            arrays: dict[str, Any] = {str(k): v for k, v in self.boxes.items()}
            np.savez_compressed(self.path, **arrays)


def cache_path(cache: Path | None, cam: CameraSettings, video: Path) -> Path | None:
    if cache is None:
        return None
    key = json.dumps(
        {"d": cam.detector, "w": cam.width, "h": cam.height, "v": video.stat().st_size},
        sort_keys=True,
    )
    return cache / f"det-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"


def detector_report(
    boxes: dict[int, Boxes], truth: Truth, size: tuple[int, int], every: int = 5
) -> dict[str, float]:
    """Recall and precision (IoU >= 0.5, greedy one-to-one) on every `every`-th cached frame."""
    from edge_agent.vision.track import greedy_assign, iou_matrix

    sx, sy = size[0] / GT_SIZE[0], size[1] / GT_SIZE[1]
    tp = fn = fp = 0
    for k in sorted(boxes)[::every]:
        gt = truth.seen(k).astype(np.float64)
        gt[:, [0, 2]] *= sx
        gt[:, [1, 3]] *= sy
        det = boxes[k].astype(np.float64)
        iou = iou_matrix(gt, det)
        cost = np.where(iou >= 0.5, 1 - iou, np.inf)
        m, _, _ = greedy_assign(cost)
        tp += len(m)
        fn += len(gt) - len(m)
        fp += len(det) - len(m)
    return {
        "recall": round(tp / max(tp + fn, 1), 3),
        "precision": round(tp / max(tp + fp, 1), 3),
    }


def zone_errors(per_frame: list[Any], truth: Truth) -> dict[str, float]:
    """Per zone: mean over frames of |people the zone reports - true foot points inside it|."""
    errors: dict[str, list[int]] = {zid: [] for zid in ZONES}
    for r in per_frame:
        feet = [f for _, f in truth.feet.get(r.frame, [])]
        for zid, poly in ZONES.items():
            errors[zid].append(abs(r.zones[zid] - sum(point_in_polygon(f, poly) for f in feet)))
    return {zid: round(float(np.mean(e)), 3) for zid, e in errors.items()}


def id_switches(per_frame: list[Any], truth: Truth) -> dict[str, int]:
    """MOT-style identity switches: a true person matched (IoU >= 0.5) to another track id than
    the one they were last matched to. Also the number of distinct track ids ever reported."""
    from edge_agent.vision.track import greedy_assign, iou_matrix

    last: dict[int, int] = {}
    switches = 0
    ids: set[int] = set()
    for r in per_frame:
        gt_ids = truth.seen_ids(r.frame)
        gt = truth.seen(r.frame).astype(np.float64)
        gt[:, [0, 2]] /= GT_SIZE[0]
        gt[:, [1, 3]] /= GT_SIZE[1]
        pred = np.asarray([t[1:5] for t in r.tracks], dtype=np.float64).reshape(-1, 4)
        ids |= {t[0] for t in r.tracks}
        iou = iou_matrix(gt, pred)
        matches, _, _ = greedy_assign(np.where(iou >= 0.5, 1 - iou, np.inf))
        for g, p in matches:
            tid = r.tracks[p][0]
            if gt_ids[g] in last and last[gt_ids[g]] != tid:
                switches += 1
            last[gt_ids[g]] = tid
    return {"id_switches": switches, "track_ids": len(ids)}


def evaluate(
    cam: CameraSettings,
    *,
    video: Path = VIDEO,
    models: Path = MODELS,
    truth: Truth | None = None,
    n_lines: int = 24,
    min_gt: int = 4,
    cache: Path | None = None,
    fast: bool = False,
    line_options: dict[str, Any] | None = None,
    appearance: float | None = None,
) -> dict[str, Any]:
    """One replay with every line of both sets; the figures for each set plus occupancy."""
    from edge_agent.vision.replay import replay
    from edge_agent.vision.worker import build_pipeline

    truth = truth or load_truth()
    sets = line_sets(truth, n_lines, min_gt)
    lines = [ln for s in sets.values() for ln in s]
    if line_options:  # e.g. a wider band on every line; the truth keeps the default rule
        lines = [ln.model_copy(update=line_options) for ln in lines]
    zones = [ZoneSettings(id=zid, points=pts) for zid, pts in ZONES.items()]
    cam = cam.model_copy(update={"lines": lines, "zones": zones})
    pipe = build_pipeline(cam, models)
    if appearance is not None:
        pipe.tracker.appearance_weight = appearance
    cached = CachedDetector(pipe.detector, pipe, cache_path(cache, cam, video), strict=fast)
    pipe.detector = cached
    if fast:
        report = _replay_cached(pipe, cam, truth.frames)
    else:
        report = replay(video, cam, models, pipeline=pipe, keep_frames=True)
    cached.save()
    errors = [abs(r.people - len(truth.seen(r.frame))) for r in report.per_frame]
    out: dict[str, Any] = {
        "frames": report.frames,
        "fps": round(report.fps, 1),
        "detector_runs": report.detector_runs,
        "close_ups": report.close_ups,
        "occupancy_mae": round(float(np.mean(errors)), 3),
        "occupancy_bias": round(
            float(np.mean([r.people - len(truth.seen(r.frame)) for r in report.per_frame])),
            3,
        ),
    }
    out["zone_mae"] = zone_errors(report.per_frame, truth)
    out.update(id_switches(report.per_frame, truth))
    if not fast and cached.path is None and hasattr(cached.inner, "passes"):
        out["network_passes"] = cached.inner.passes
    for name, lines in sets.items():
        gt = truth_counts(truth, lines)
        out[name] = score({ln.id: report.lines[ln.id] for ln in lines}, gt)
    if cached.boxes:
        out["detector"] = detector_report(cached.boxes, truth, frame_size(cam))
    return out


def frame_size(cam: CameraSettings) -> tuple[int, int]:
    """The size capture gives a 768x576 video (vtest and its views) under this camera config."""
    from edge_agent.vision.capture import fit_size

    return fit_size(GT_SIZE[0], GT_SIZE[1], cam.width, cam.height)


def _replay_cached(pipe: Any, cam: CameraSettings, frames: int) -> Any:
    """Tuning shortcut: cached detections on blank frames, no decoding and no motion gate.

    Every detection must already be in the cache (a full run with `detect_fps` >= the video's rate
    fills it). The gate only skips frames, so on a busy scene this matches a full run closely; the
    figures to quote come from full runs.
    """
    from edge_agent.vision.replay import ReplayReport, _close_visits

    width, height = frame_size(cam)
    blank = np.zeros((height, width, 3), np.uint8)
    pipe.gate = None
    report = ReplayReport()
    for k in range(frames):
        r = pipe.process(k / GT_FPS, blank)
        report.frames += 1
        report.detector_runs += int(r.detected)
        report.per_frame.append(r)
    _close_visits(pipe)
    report.seconds = 1.0
    report.lines = {k: dict(v) for k, v in pipe.lines.totals.items()}
    return report


def apply_overrides(cam: CameraSettings, sets: list[str]) -> CameraSettings:
    """`--set a.b=VALUE` (VALUE parsed as YAML) on the camera's settings, re-validated."""
    from ruamel.yaml import YAML

    data = cam.model_dump(mode="json")
    for item in sets:
        key, _, raw = item.partition("=")
        node = data
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = YAML(typ="safe").load(raw)
    return CameraSettings.model_validate(data)


def main(argv: list[str] | None = None) -> int:
    from edge_agent.cli.vision_cmd import load_camera_file

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--config", type=Path, default=CONFIG)
    ap.add_argument("--video", type=Path, default=VIDEO)
    ap.add_argument("--gt", type=Path, default=GT)
    ap.add_argument("--models-dir", type=Path, default=MODELS)
    ap.add_argument("--lines", type=int, default=24, help="random lines per set")
    ap.add_argument("--min-gt", type=int, default=4, help="truths per direction a line needs")
    ap.add_argument("--set", action="append", default=[], help="override, e.g. detect_fps=10")
    ap.add_argument("--cache", type=Path, default=None, help="folder for cached detections")
    ap.add_argument("--line", action="append", default=[], help="option on every line, band=0.02")
    ap.add_argument("--fast", action="store_true", help="cached detections only, no decoding")
    ap.add_argument(
        "--appearance",
        type=float,
        default=None,
        help="tracker torso-colour weight (off: 0; default: the camera's tracker setting)",
    )
    ap.add_argument(
        "--view",
        type=parse_view,
        default=None,
        help="X1,Y1,X2,Y2: a closer camera (zoomed_view.py)",
    )
    ap.add_argument("--per-line", action="store_true", help="print every line-direction")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    cam = apply_overrides(load_camera_file(args.config, None), args.set)
    truth, video = load_truth(args.gt), args.video
    if args.view is not None:
        win = Window.of(args.view, GT_SIZE)
        name = "view-" + "-".join(f"{v:g}" for v in args.view) + ".avi"
        video = VIDEO.parent / "views" / name  # git-ignored, made once
        if not video.is_file():
            video.parent.mkdir(parents=True, exist_ok=True)
            write_video(args.video, video, win)
        truth = truth.zoomed(win)
    result = evaluate(
        cam,
        video=video,
        models=args.models_dir,
        truth=truth,
        n_lines=args.lines,
        min_gt=args.min_gt,
        cache=args.cache,
        fast=args.fast,
        line_options={k: float(v) for k, _, v in (x.partition("=") for x in args.line)},
        appearance=args.appearance,
    )
    if not args.per_line:
        for name in SEEDS:
            result[name].pop("per_line")
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for k, v in result.items():
        print(f"{k:16} {json.dumps(v)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
