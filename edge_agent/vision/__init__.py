"""On-device vision: capture, motion gating, detection, tracking and counting.

Nothing here is imported by the daemon unless a camera is configured; the submodules import cv2,
numpy and LiteRT themselves, so `import edge_agent.vision` stays cheap.
"""

from __future__ import annotations

import os

# OpenCV and FFmpeg write their own lines to stderr ("[tcp @ 0x...] Connection refused", "[ WARN:0]
# ... can't be used to capture by name") in the middle of the daemon's JSON log, once per camera
# retry. The capture's reason codes already say what went wrong. Set before cv2 loads (every
# module here that imports cv2 is under this package); an engineer who wants FFmpeg's own words
# sets OPENCV_FFMPEG_LOGLEVEL=32 and OPENCV_LOG_LEVEL=INFO (docs/field-guide.md, Cameras).
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
