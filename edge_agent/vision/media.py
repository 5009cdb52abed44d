"""Test and demo videos: vtest.avi and Megamind.avi from Debian's opencv-doc package.

`python -m edge_agent.vision.media fetch` runs `apt-get download opencv-doc`, unpacks the two videos
into media/cache/ (git-ignored) and checks their sha256. It does nothing when both are present and
verify, so `make media` is cheap to repeat.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .models import sha256_file

EXAMPLES = "usr/share/doc/opencv-doc/examples/data"
VIDEOS = {
    "vtest.avi": "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf",
    "Megamind.avi": "0057387cb7e75c8fd1663b62cfdc51fa53f527795d0fe3c1fea2fd159d3130b5",
}


class MediaError(Exception):
    """The videos could not be downloaded, unpacked or verified."""


def default_media_dir() -> Path:
    env = os.environ.get("EDGE_AGENT_MEDIA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "media" / "cache"


def missing(media_dir: Path) -> list[str]:
    """Names of the videos that are absent or do not hash to their pinned sha256."""
    return [
        name
        for name, sha in VIDEOS.items()
        if not (media_dir / name).is_file() or sha256_file(media_dir / name) != sha
    ]


def _run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False, timeout=900)  # noqa: S603
    if proc.returncode != 0:
        tail = " ".join(proc.stderr.strip().splitlines()[-2:])
        raise MediaError(f"{' '.join(cmd)} failed: {tail or 'exit ' + str(proc.returncode)}")


def fetch(media_dir: Path) -> list[str]:
    """Make both videos present and verified; returns the names written (empty: nothing to do)."""
    todo = missing(media_dir)
    if not todo:
        return []
    media_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="edge-agent-media-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)  # noqa: S103 - apt's sandbox user must be able to write the download
        _run(["apt-get", "download", "opencv-doc"], work)
        debs = sorted(work.glob("opencv-doc_*.deb"))
        if not debs:
            raise MediaError("apt-get download opencv-doc produced no .deb")
        _run(["dpkg-deb", "-x", str(debs[0]), str(work / "x")], work)
        for name in todo:
            src = work / "x" / EXAMPLES / name
            if not src.is_file():
                raise MediaError(f"{debs[0].name} has no {EXAMPLES}/{name}")
            actual = sha256_file(src)
            if actual != VIDEOS[name]:
                raise MediaError(
                    f"{name} from {debs[0].name} has sha256 {actual}, expected {VIDEOS[name]}"
                )
            staged = media_dir / f".{name}.part"
            staged.write_bytes(src.read_bytes())
            staged.replace(media_dir / name)
    return todo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m edge_agent.vision.media", description="Fetch the test videos."
    )
    parser.add_argument("command", choices=["fetch", "verify"])
    parser.add_argument(
        "--dir", type=Path, default=None, help="Target folder (default media/cache)."
    )
    parser.add_argument("--json", action="store_true", help="Print machine-readable JSON.")
    args = parser.parse_args(argv)
    folder: Path = args.dir or default_media_dir()
    try:
        written = fetch(folder) if args.command == "fetch" else []
        bad = missing(folder)
    except (MediaError, OSError) as exc:
        out = {"ok": False, "error": {"code": "failed", "message": str(exc)}}
        sys.stdout.write((json.dumps(out) if args.json else f"error: {exc}") + "\n")
        return 1
    out_ok = {"ok": not bad, "dir": str(folder), "written": written, "missing": bad}
    text = f"{folder}: " + ("ok" if not bad else "missing " + ", ".join(bad))
    sys.stdout.write((json.dumps(out_ok) if args.json else text) + "\n")
    return 0 if not bad else 5


if __name__ == "__main__":
    raise SystemExit(main())
