"""Snapshot labels: none hides another, and all stay on the picture."""

from __future__ import annotations

import numpy as np

from edge_agent.vision.snapshot import LINE, TRACK, _Labels, _overlap


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
