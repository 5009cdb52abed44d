"""`edge-agent vision replay`: run a video through a camera's full counting pipeline, offline.

Exit codes: 0 done; 3 the camera config is invalid; 5 the video, camera or a model is missing;
1 the video could not be decoded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from edge_agent.cli.output import Exit, JsonOption, console, fail, show, table
from edge_agent.settings.cameras import CameraSettings
from edge_agent.settings.errors import plain_message
from edge_agent.settings.yamltext import AliasError, FileTooLarge, load_yaml, position, read_text

from ..vision.models import default_models_dir

app = typer.Typer(
    help="Vision tools: offline replay of a video through the pipeline.", no_args_is_help=True
)

CameraConfigOption = typer.Option(
    ..., "--camera-config", help="YAML: one camera entry, or a config with `cameras:`."
)
CameraIdOption = typer.Option(None, "--camera", help="Which camera, when the file lists several.")
ModelsOption = typer.Option(
    default_models_dir(),
    "--models-dir",
    help="Folder holding manifest.yaml (env EDGE_AGENT_MODELS_DIR).",
)


class CameraFileError(Exception):
    """The camera YAML could not be used; `code` is the exit code to use."""

    def __init__(self, message: str, code: Exit, hint: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.hint = hint


def load_camera_file(
    path: Path, camera_id: str | None, *, video: Path | None = None
) -> CameraSettings:
    """One camera from a YAML file holding either a single camera entry or a `cameras:` list.

    With `video` (a replay), the entry may leave out `id` and `source`: lines and zones are all a
    replay needs, and the video stands in for the camera.
    """
    from ruamel.yaml.error import YAMLError

    if not path.is_file():
        raise CameraFileError(f"no such file: {path}", Exit.NOT_FOUND)
    try:
        data: Any = load_yaml(read_text(path), round_trip=True)
    except FileTooLarge as exc:
        raise CameraFileError(f"{path} is {exc}", Exit.CONFIG) from None
    except OSError as exc:
        raise CameraFileError(f"cannot read {path}: {exc.strerror}", Exit.CONFIG) from None
    except UnicodeDecodeError as exc:
        line = exc.object.count(b"\n", 0, exc.start) + 1
        raise CameraFileError(
            f"{path}: not UTF-8 text (line {line})", Exit.CONFIG, "save it as UTF-8"
        ) from None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is None:
            raise CameraFileError(f"{path}: not valid YAML: {exc}", Exit.CONFIG) from None
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise CameraFileError(
            f"{path}:{mark.line + 1}:{mark.column + 1}: YAML: {problem}",
            Exit.CONFIG,
            exc.hint if isinstance(exc, AliasError) else "check the indentation and quoting",
        ) from None
    where: tuple[str | int, ...] = ()  # the entry's place in the file, for line numbers
    if isinstance(data, dict) and "cameras" in data:
        entries = data["cameras"] or []
        if not isinstance(entries, list):
            raise CameraFileError(f"{path}: `cameras` must be a list", Exit.CONFIG)
        ids = ", ".join(str(e.get("id")) for e in entries if isinstance(e, dict))
        if camera_id is None and len(entries) == 1:
            entry, where = entries[0], ("cameras", 0)
        elif camera_id is None:
            raise CameraFileError(
                f"{path} lists cameras: {ids}", Exit.USAGE, "pick one with --camera ID"
            )
        else:
            found = [e for e in entries if isinstance(e, dict) and e.get("id") == camera_id]
            if not found:
                raise CameraFileError(
                    f"no camera {camera_id!r} in {path}", Exit.NOT_FOUND, f"cameras: {ids}"
                )
            entry = found[0]
            where = ("cameras", next(i for i, e in enumerate(entries) if e is entry))
    else:
        entry = data
    if not isinstance(entry, dict):
        raise CameraFileError(f"{path}: expected a camera mapping", Exit.CONFIG)
    if video is not None:
        entry = {"id": "replay", "source": str(video.resolve()), **entry}
    try:
        cam = CameraSettings.model_validate(entry)
    except ValidationError as exc:  # FILE:LINE:COL per problem, as `config check` prints them
        lines = []
        for e in exc.errors():
            line, col = position(data, (*where, *e["loc"]))
            lines.append(f"{path}:{line}:{col}: {'.'.join(map(str, e['loc']))}: {plain_message(e)}")
        raise CameraFileError("invalid camera:\n  " + "\n  ".join(lines), Exit.CONFIG) from None
    # Relative paths are relative to the camera file, as in the main config.
    update: dict[str, Any] = {}
    source = Path(cam.source)
    if "://" not in cam.source and not source.is_absolute():
        update["source"] = str(path.parent / source)
    if cam.credentials_file is not None and not cam.credentials_file.is_absolute():
        update["credentials_file"] = path.parent / cam.credentials_file
    return cam.model_copy(update=update) if update else cam


def _render(report: dict[str, Any]) -> None:
    console.print(
        f"{report['frames']} frames"
        + (
            ""
            if report["source_frames"] == report["frames"]
            else f" of the first {report['source_frames']} of the file"
            if report["stopped"]
            else f" of the file's {report['source_frames']}"
        )
        + f" ({report['media_seconds']} s of video) "
        f"in {report['seconds']} s "
        f"= {report['fps']} fps; detector ran on {report['detector_runs']} frames"
        + (f" ({report['runtime']})" if report.get("runtime") else "")
    )
    if report["lines"]:
        rows = [[k, v["in"], v["out"]] for k, v in report["lines"].items()]
        console.print(table("lines", ["line", "in", "out"], rows))
    if report["zones"]:
        rows = [
            [k, v["mean"], v["max"], v["visits"], v["dwell_p50_s"], v["dwell_p90_s"]]
            for k, v in report["zones"].items()
        ]
        console.print(
            table(
                "zones", ["zone", "occupancy mean", "max", "visits", "dwell p50 s", "p90 s"], rows
            )
        )
    console.print(f"people in view: mean {report['people']['mean']}, max {report['people']['max']}")


@app.command()
def replay(
    video: Path = typer.Argument(
        ..., help="Video file, or folder of numbered pictures (MOTChallenge layout too)."
    ),
    *,
    camera_config: Path = CameraConfigOption,
    camera: str | None = CameraIdOption,
    frames_out: Path | None = typer.Option(
        None, "--frames-out", help="Write per-frame JSON lines here."
    ),
    models_dir: Path = ModelsOption,
    source_fps: float | None = typer.Option(
        None,
        "--source-fps",
        min=0.1,
        max=1000,
        help="Frame rate of a folder of pictures (over its seqinfo.ini frameRate).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Run VIDEO through the camera's pipeline at full speed; print lines, occupancy, dwell.

    A folder of pictures plays in natural name order at `--source-fps`, or at the `frameRate` of
    a seqinfo.ini in it (or beside it, when the folder is the one its `imDir` names).
    """
    from edge_agent.vision.models import VisionModelError
    from edge_agent.vision.replay import replay as run_replay

    try:
        cam = load_camera_file(camera_config, camera, video=video)
    except CameraFileError as exc:
        fail(str(exc), exc.code, as_json=as_json, hint=exc.hint)
    if not (video.is_file() or video.is_dir()):
        fail(f"no such video: {video}", Exit.NOT_FOUND, as_json=as_json)
    out = frames_out.open("w") if frames_out else None
    try:
        with Progress(
            TextColumn("replay"),
            BarColumn(),
            TextColumn("{task.completed} frames"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=as_json,
        ) as progress:
            task = progress.add_task("replay", total=None)
            report = run_replay(
                video,
                cam,
                models_dir,
                frames_out=out,
                on_frame=lambda _r: progress.advance(task),
                source_fps=source_fps,
            )
    except VisionModelError as exc:
        fail(
            str(exc),
            Exit.NOT_FOUND,
            as_json=as_json,
            hint="`edge-agent models verify` lists every model and its state",
        )
    finally:
        if out is not None:
            out.close()
    if report.frames == 0:
        why = report.stopped or "no frame could be decoded"
        fail(f"cannot replay {video}: {why}", Exit.FAILED, as_json=as_json)
    show(report.to_dict(), as_json, _render)
    if report.stopped:  # the figures above cover only the frames before the failure
        if as_json:  # one JSON document: its `stopped` says why
            raise typer.Exit(int(Exit.FAILED))
        fail(f"replay stopped after {report.frames} frames: {report.stopped}", Exit.FAILED)
