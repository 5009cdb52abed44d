"""On-device vision: capture, motion gating, detection, tracking and counting.

Nothing here is imported by the daemon unless a camera is configured; the submodules import cv2,
numpy and LiteRT themselves, so `import edge_agent.vision` stays cheap.
"""

from __future__ import annotations
