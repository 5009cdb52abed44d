"""`edge-agent camera snapshot`: one annotated frame to check lines, zones and detections.

Exit codes: 0 written; 3 the config is invalid; 5 no such camera, file or model; 1 the camera gave
no frame (the reason code is printed: no_signal, auth_failed, decode_error, frozen), or the PNG
cannot be written there (checked before the camera is read).
"""

from __future__ import annotations

import contextlib
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from edge_agent.cli.output import Exit, JsonOption, console, fail, plain, show
from edge_agent.cli.vision_cmd import CameraFileError, load_camera_file
from edge_agent.settings.cameras import CredentialsError

from ..vision.models import default_models_dir
from .common import DEFAULT_CONFIG

app = typer.Typer(
    help="Camera tools: an annotated snapshot for setting up lines and zones.", no_args_is_help=True
)


def _render(info: dict[str, Any]) -> None:
    tracks = ", ".join(plain(t) for t in info["tracks"]) or "none"
    zones = ", ".join(f"{z}={plain(n)}" for z, n in info["zones"].items()) or "none"
    console.print(
        f"wrote {escape(info['path'])} ({info['size'][0]}x{info['size'][1]}): "
        f"{info['detections']} detections, {info['people']} people; "
        f"tracks {escape(tracks)}; zones {escape(zones)}",
        highlight=False,
    )


def _cannot_write(out: Path) -> str | None:
    """Why the PNG cannot be written to `out` (None: it can), found by trying: a missing folder
    is made as the snapshot would make it, and whatever the try creates is removed again."""
    if out.is_dir():
        return "it is a directory"
    made: list[Path] = []
    try:
        for folder in reversed(out.parents):
            if not folder.exists():
                folder.mkdir()
                made.append(folder)
        existed = out.exists()
        with out.open("ab"):  # appends nothing: an existing file is left as it is
            pass
        if not existed:
            out.unlink()
    except OSError as exc:
        return exc.strerror or str(exc)
    finally:
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()
    return None


def _write_hint(out: Path) -> str:
    if out.is_dir():
        return f"give --out a file name, e.g. --out {out / 'view.png'}"
    name = out.name if out.suffix.lower() == ".png" else "view.png"
    return f"give --out a file in a folder you can write to, e.g. --out ~/{name}"


@app.command()
def snapshot(
    camera: str = typer.Argument(..., help="Camera id in the config."),
    *,
    config: Path = typer.Option(
        DEFAULT_CONFIG,
        "--config",
        "-c",
        help="Config file with `cameras:` (or one camera entry); default as for every command.",
    ),
    out: Path = typer.Option(Path("view.png"), "--out", help="PNG to write."),
    warmup: int = typer.Option(
        20, "--warmup", min=1, max=600, help="Frames to run first so tracks confirm."
    ),
    models_dir: Path = typer.Option(
        default_models_dir(),
        "--models-dir",
        help="Folder holding manifest.yaml (env EDGE_AGENT_MODELS_DIR).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Grab a frame from CAMERA; draw its lines (arrow = `in`), zones, detections, track ids."""
    from edge_agent.vision.models import VisionModelError
    from edge_agent.vision.snapshot import SnapshotError, take_snapshot

    try:
        cam = load_camera_file(config, camera)
    except CameraFileError as exc:
        fail(str(exc), exc.code, as_json=as_json, hint=exc.hint)
    why = _cannot_write(out)  # before the camera is read: no frame grabbed only to be lost
    if why is not None:
        fail(f"cannot write {out}: {why}", Exit.FAILED, as_json=as_json, hint=_write_hint(out))
    try:
        with (
            console.status(f"reading {escape(camera)}", spinner="dots")
            if not as_json
            else nullcontext()
        ):
            shot = take_snapshot(cam, models_dir, out, warmup_frames=warmup)
    except OSError as exc:
        if exc.filename is None or Path(exc.filename) not in (out, *out.parents):
            raise  # not the PNG: a real fault, with its traceback
        fail(
            f"cannot write {out}: {exc.strerror or exc}",
            Exit.FAILED,
            as_json=as_json,
            hint=_write_hint(out),
        )
    except VisionModelError as exc:
        fail(
            str(exc),
            Exit.NOT_FOUND,
            as_json=as_json,
            hint="`edge-agent models verify` lists every model and its state",
        )
    except CredentialsError as exc:
        fail(str(exc), Exit.CONFIG, as_json=as_json)
    except SnapshotError as exc:
        fail(str(exc), Exit.FAILED, as_json=as_json, hint=_hint(exc.reason, cam.source))
    show(shot.to_dict(), as_json, _render)


def _hint(reason: str, source: str) -> str:
    """What to try, for the reason the camera gave no frame."""
    if reason == "auth_failed":
        return "the camera refused the user/password: check them in the camera's web page"
    if reason == "decode_error":
        return "the stream opens but does not decode: try the camera's other stream or codec"
    if reason == "frozen":
        return "the camera sends the same picture over and over: power-cycle it"
    if source.startswith("/dev/video"):
        return (
            "no frames from the USB camera: check the cable, and note that a USB camera serves "
            "one program at a time, so while edge-agent runs it holds the device "
            "(`systemctl stop edge-agent` for the snapshot, then start it again)"
        )
    return f"camera reason: {reason}; ping the camera and open the URL in VLC from this PC"
