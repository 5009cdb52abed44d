"""Snapshot labels: none hides another, all stay on the picture, and they grow with it."""

from __future__ import annotations

import numpy as np

from edge_agent.settings.cameras import CameraSettings
from edge_agent.vision.pipeline import FrameResult
from edge_agent.vision.snapshot import DET, LINE, TRACK, _Labels, _overlap, render


def test_labels_step_off_each_other_and_stay_on_the_image() -> None:
    img = np.zeros((240, 320, 3), np.uint8)
    labels = _Labels(img)
    labels.add("#1", (100, 100), 0.45, TRACK, movable=True)
    labels.add("#2", (102, 101), 0.45, TRACK, movable=True)  # two people side by side
    labels.add("bench-queue (queue): 2", (90, 104), 0.45, TRACK, movable=True)
    labels.add("in", (104, 100), 0.45, LINE)  # fixed: where its arrow points, overlap or not
    labels.add("path-east", (400, -5), 0.45, LINE, movable=True)  # past the corner
    first, second, zone, arrow, corner = labels.boxes
    assert not _overlap(first, second) and not _overlap(zone, first) and not _overlap(zone, second)
    assert arrow[0] == 104 - 2 and arrow[3] == 100 + 3, "the `in` label did not move"
    assert corner[0] >= 0 and corner[2] <= 320 and corner[1] >= 0 and corner[3] <= 240
    labels.draw()
    assert img.any(), "the labels were drawn"


def _as_seen(width: int, height: int) -> tuple[int, int]:
    """Pixels of the white title and of the grey detection box on a snapshot of a plain picture,
    looked at 640 pixels wide (a 1080p PNG on a laptop screen, or in a chat window)."""
    import cv2

    cam = CameraSettings(id="shop-front", source="clip.mp4")
    frame = np.full((height, width, 3), 60, np.uint8)
    result = FrameResult(frame=0, ts=0.0, people=0, zones={})
    box = np.array([[0.4 * width, 0.3 * height, 0.6 * width, 0.9 * height, 0.9]], np.float32)
    img = cv2.resize(render(frame, cam, result, box), (640, 360), interpolation=cv2.INTER_AREA)
    title = int(np.all(img >= 220, axis=2).sum())  # DET is 200
    detection = int(np.all(np.abs(img.astype(int) - DET) <= 20, axis=2).sum())
    return title, detection


def test_a_1080p_snapshot_seen_at_640_wide_reads_like_a_640_one() -> None:
    # With 1-pixel strokes whatever the size, a 1080p snapshot shrunk to a screen showed the
    # labels as black smudges (white letters thinner than their outline) and no detection boxes.
    small_title, small_box = _as_seen(640, 360)
    big_title, big_box = _as_seen(1920, 1080)
    assert small_title > 0 and small_box > 0
    assert big_title >= small_title / 2, (big_title, small_title)
    assert big_box >= small_box / 2, (big_box, small_box)
