"""Where the test media live: the fetched video in media/cache, the ground truth in shared/.

The MOT15 ground truth (CC BY-NC-SA, tests only) is not part of the product; it sits in the
workspace's shared/ folder beside the checkout (CI lays a copy there too). `make test` fetches the
video and the models first, so a missing file is a broken set-up and fails loudly, never skips.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _shared() -> Path:
    for candidate in (os.environ.get("EDGE_AGENT_SHARED"), REPO.parent / "shared", "/work/shared"):
        if candidate and (Path(candidate) / "media").is_dir():
            return Path(candidate)
    return REPO.parent / "shared"


GT_PATH = _shared() / "media" / "pets09-s2l1-gt.txt"
VTEST = REPO / "media" / "cache" / "vtest.avi"
MEGAMIND = REPO / "media" / "cache" / "Megamind.avi"
MODELS = REPO / "models"


def require(*paths: Path) -> None:
    """Fail with the fix when a medium is missing (a skip would hide a broken CI set-up)."""
    missing = [str(p) for p in paths if not p.is_file()]
    assert not missing, (
        f"missing {missing}: run `make models media` (make test does), and keep shared/ beside the checkout"
    )
