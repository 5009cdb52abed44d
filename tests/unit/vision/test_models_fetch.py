"""Model manifest, fetch and verify, with real pip runs against a local wheel folder."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from edge_agent.cli.models_cmd import app
from edge_agent.vision import models as m

PAYLOAD = b"not really a model, but pinned all the same\n" * 50
SHA = hashlib.sha256(PAYLOAD).hexdigest()
REPO_MODELS = Path(__file__).resolve().parents[3] / "models"


def make_wheel(
    folder: Path, payload: bytes, name: str = "toy_model_pkg", version: str = "1.0"
) -> Path:
    """A minimal valid wheel holding one data file, so pip download --find-links serves it."""
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    dist = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(f"{name}/weights.bin", payload)
        zf.writestr(
            f"{dist}/METADATA",
            f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: {version}\n",
        )
        zf.writestr(
            f"{dist}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        zf.writestr(f"{dist}/RECORD", "")
    return wheel


def write_manifest(
    models_dir: Path, sha: str = SHA, path: str = "toy_model_pkg/weights.bin"
) -> None:
    models_dir.mkdir(parents=True, exist_ok=True)
    (models_dir / "manifest.yaml").write_text(
        "models:\n"
        "  toy:\n"
        "    package: toy-model-pkg\n"
        '    version: "1.0"\n'
        f"    path: {path}\n"
        "    file: toy.bin\n"
        f'    sha256: "{sha}"\n'
        "    licence: MIT\n"
    )


@pytest.fixture
def index(tmp_path: Path) -> list[str]:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels, PAYLOAD)
    return ["--no-index", "--find-links", str(wheels)]


def test_fetch_extracts_the_pinned_file_and_verifies_it(tmp_path: Path, index: list[str]) -> None:
    write_manifest(tmp_path / "models")
    rows = m.fetch_all(tmp_path / "models", pip_args=index)
    assert [r.status for r in rows] == ["fetched"]
    assert (tmp_path / "models" / "cache" / "toy.bin").read_bytes() == PAYLOAD
    assert m.resolve("toy", tmp_path / "models") == tmp_path / "models" / "cache" / "toy.bin"


def test_second_fetch_leaves_a_good_file_alone(tmp_path: Path, index: list[str]) -> None:
    write_manifest(tmp_path / "models")
    m.fetch_all(tmp_path / "models", pip_args=index)
    rows = m.fetch_all(tmp_path / "models", pip_args=["--no-index"])  # no source: must not need one
    assert [r.status for r in rows] == ["ok"]


def test_fetch_replaces_a_corrupted_file(tmp_path: Path, index: list[str]) -> None:
    write_manifest(tmp_path / "models")
    target = tmp_path / "models" / "cache" / "toy.bin"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"truncated")
    assert [r.status for r in m.fetch_all(tmp_path / "models", pip_args=index)] == ["fetched"]
    assert target.read_bytes() == PAYLOAD


def test_upstream_change_reports_mismatch_and_writes_nothing(
    tmp_path: Path, index: list[str]
) -> None:
    write_manifest(tmp_path / "models", sha="0" * 64)  # quoted: YAML reads bare zeros as a number
    rows = m.fetch_all(tmp_path / "models", pip_args=index)
    assert rows[0].status == "mismatch"
    assert "manifest pins" in rows[0].message
    assert list((tmp_path / "models" / "cache").iterdir()) == []


def test_wheel_without_the_path_reports_a_fetch_error(tmp_path: Path, index: list[str]) -> None:
    write_manifest(tmp_path / "models", path="toy_model_pkg/elsewhere.bin")
    with pytest.raises(m.FetchError, match=r"has no toy_model_pkg/elsewhere\.bin"):
        m.fetch_one(
            m.load_manifest(tmp_path / "models")["toy"], tmp_path / "models", pip_args=index
        )


def test_unknown_package_reports_a_fetch_error(tmp_path: Path, index: list[str]) -> None:
    write_manifest(tmp_path / "models")
    (tmp_path / "models" / "manifest.yaml").write_text(
        (tmp_path / "models" / "manifest.yaml").read_text().replace("toy-model-pkg", "no-such-pkg")
    )
    with pytest.raises(m.FetchError, match=r"pip could not download no-such-pkg==1\.0"):
        m.fetch_one(
            m.load_manifest(tmp_path / "models")["toy"], tmp_path / "models", pip_args=index
        )


def test_missing_model_error_names_the_fetch_command(tmp_path: Path) -> None:
    write_manifest(tmp_path / "models")
    with pytest.raises(m.ModelMissing, match="edge-agent models fetch"):
        m.resolve("toy", tmp_path / "models")


def test_altered_model_error_names_the_fetch_command(tmp_path: Path) -> None:
    write_manifest(tmp_path / "models")
    (tmp_path / "models" / "cache").mkdir()
    (tmp_path / "models" / "cache" / "toy.bin").write_bytes(PAYLOAD + b"x")
    with pytest.raises(m.ModelMismatch, match="edge-agent models fetch"):
        m.resolve("toy", tmp_path / "models")


def test_unknown_model_name_lists_the_known_ones(tmp_path: Path) -> None:
    write_manifest(tmp_path / "models")
    with pytest.raises(m.ManifestError, match="known: toy"):
        m.resolve("other", tmp_path / "models")


@pytest.mark.parametrize(
    "text", ["models: [", "models: 3\n", "models:\n  toy: {sha256: nothex}\n", ""]
)
def test_broken_manifest_is_a_typed_error(tmp_path: Path, text: str) -> None:
    (tmp_path / "manifest.yaml").write_text(text)
    with pytest.raises(m.ManifestError):
        m.load_manifest(tmp_path)


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("file: ../../evil.bin", "climbs out"),
        ("file: /tmp/evil.bin", "absolute"),
        ("local: ../evil.bin", "climbs out"),
        ("local: /etc/passwd", "absolute"),
        ("path: ../../evil.bin", "climbs out"),
        ("file: ''", "names no file"),
        ("file: .", "names no file"),
    ],
)
def test_a_manifest_path_that_leaves_the_models_folder_is_refused(
    tmp_path: Path, entry: str, words: str
) -> None:
    (tmp_path / "manifest.yaml").write_text(
        f"models:\n  toy: {{sha256: '{SHA}', licence: MIT, {entry}}}\n"
    )
    with pytest.raises(m.ManifestError, match=words):
        m.load_manifest(tmp_path)


def test_a_model_name_cannot_stand_in_for_a_file_outside_the_cache(tmp_path: Path) -> None:
    (tmp_path / "manifest.yaml").write_text(f"models:\n  '..': {{sha256: '{SHA}', licence: MIT}}\n")
    with pytest.raises(m.ManifestError, match="climbs out"):
        m.load_manifest(tmp_path)


def test_fetch_never_writes_outside_the_models_folder(tmp_path: Path, index: list[str]) -> None:
    write_manifest(tmp_path / "models")
    manifest = tmp_path / "models" / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace("file: toy.bin", "file: ../../evil.bin"))
    with pytest.raises(m.ManifestError, match="climbs out"):
        m.fetch_all(tmp_path / "models", pip_args=index)
    assert not (tmp_path / "evil.bin").exists()


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"models:\n  x: {sha256: !!timestamp 2020-13-45, licence: a}\n", "!!timestamp"),
        (b"models:\n  \xff\xfe: 1\n", r"not UTF-8 text \(line 2\)"),
    ],
    ids=["bad tag", "latin-1 bytes"],
)
def test_a_manifest_with_a_bad_tag_or_bytes_is_a_manifest_error(
    tmp_path: Path, raw: bytes, words: str
) -> None:
    (tmp_path / "manifest.yaml").write_bytes(raw)
    with pytest.raises(m.ManifestError, match=words):
        m.load_manifest(tmp_path)


PATHS = st.sampled_from(
    [
        *("w.bin", "sub/w.bin", "./w.bin", "a/./w.bin", "~/w.bin", "a\\..\\w.bin"),
        *("../w.bin", "a/../../w.bin", "/tmp/w.bin", "//w.bin", ".", "..", "a/..", "''"),
        *('"a\\0b"', '"\\ud800"', "!!int x"),
    ]
) | st.text(max_size=8).map(json.dumps)
ENTRIES = st.tuples(
    PATHS | st.sampled_from(["m", "..", ".", "/abs", "a/b"]),  # the model's name
    st.dictionaries(st.sampled_from(["path", "file", "local"]), PATHS, max_size=3),
    st.booleans(),  # fetchable
).map(
    lambda e: (
        f"  {e[0]}: {{sha256: '{SHA}', licence: MIT"
        + "".join(f", {k}: {v}" for k, v in e[1].items())
        + (", package: p, version: '1'" if e[2] else "")
        + "}"
    )
)
MANIFESTS = st.lists(ENTRIES, min_size=1, max_size=3).map(
    lambda entries: "models:\n" + "\n".join(entries) + "\n"
)


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
def test_any_bytes_give_a_manifest_or_a_manifest_error(tmp_path: Path, raw: bytes) -> None:
    (tmp_path / "manifest.yaml").write_bytes(raw)
    try:
        specs = m.load_manifest(tmp_path)
    except m.ManifestError:
        return
    assert all(isinstance(spec, m.ModelSpec) for spec in specs.values())


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=MANIFESTS)
def test_any_accepted_manifest_keeps_every_model_file_inside_the_models_folder(
    tmp_path: Path, text: str
) -> None:
    models_dir = tmp_path / "models"
    models_dir.mkdir(exist_ok=True)
    (models_dir / "manifest.yaml").write_text(text)
    try:
        specs = m.load_manifest(models_dir)
    except m.ManifestError:
        return
    inside = models_dir.resolve()
    for spec in specs.values():
        where = spec.location(models_dir).resolve()
        assert where.is_relative_to(inside), (spec, where)
        assert where not in (inside, inside / m.CACHE), (spec, where)  # a file, not a folder


def test_cli_verify_json_reports_missing_with_exit_5(tmp_path: Path) -> None:
    write_manifest(tmp_path / "models")
    result = CliRunner().invoke(app, ["verify", "--json", "--models-dir", str(tmp_path / "models")])
    assert result.exit_code == 5
    assert json.loads(result.stdout)[0]["status"] == "missing"


def test_cli_fetch_then_verify_succeeds(tmp_path: Path, index: list[str]) -> None:
    write_manifest(tmp_path / "models")
    args = ["--models-dir", str(tmp_path / "models"), "--json"]
    fetched = CliRunner().invoke(app, ["fetch", *args, *(f"--pip-arg={a}" for a in index)])
    assert fetched.exit_code == 0, fetched.output
    assert json.loads(fetched.stdout)[0]["status"] == "fetched"
    assert CliRunner().invoke(app, ["verify", *args]).exit_code == 0


def test_cli_broken_manifest_exits_with_config_code(tmp_path: Path) -> None:
    (tmp_path / "manifest.yaml").write_text("models: [")
    result = CliRunner().invoke(app, ["verify", "--json", "--models-dir", str(tmp_path)])
    assert result.exit_code == 3
    assert json.loads(result.stdout)["error"]["code"] == "config"


def test_project_manifest_pins_every_model_the_detectors_load() -> None:
    specs = m.load_manifest(REPO_MODELS)
    assert {"ssdlite_person", "ssdlite_person_graph", "blazeface_short", "yunet"} <= set(specs)
    for spec in specs.values():
        assert spec.fetchable or spec.local, spec.name


def test_committed_text_graph_matches_its_pin() -> None:
    spec = m.load_manifest(REPO_MODELS)["ssdlite_person_graph"]
    assert m.check(spec, REPO_MODELS).status == "ok"


def test_deleted_committed_file_cannot_be_fetched(tmp_path: Path) -> None:
    shutil.copy(REPO_MODELS / "manifest.yaml", tmp_path / "manifest.yaml")
    spec = m.load_manifest(tmp_path)["ssdlite_person_graph"]
    with pytest.raises(m.ModelMissing, match="restore it from git"):
        m.fetch_one(spec, tmp_path)
