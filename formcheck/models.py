"""Getting and verifying the pose model bundles in `models/`.

Since mediapipe 0.10.30 no pose model ships with the package, so formcheck prepares its own:
1. the official `.task` bundle, if its host answers within a few seconds;
2. otherwise a bundle built from Google's own published weights on the package registries
   (the `mediapipe==0.10.21` wheel on PyPI, the `@mediapipe/pose` package on npm), with the
   TFLite metadata `PoseLandmarker` requires added, stored uncompressed and 4-byte aligned.
Every source file and every built bundle is checked against a pinned sha256 (`models/SHA256SUMS`).

The patient's browser runs the same bundle with the npm package `@mediapipe/tasks-vision`: its module and wasm
are prepared here too (`ensure_web_runtime`), from npm at setup, sha256-pinned, and served by formcheck itself
(formcheck/web/routes.py), so that no page fetches code from another host.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelError
from .files import write_atomic

VARIANTS = ("lite", "full", "heavy")
DEFAULT_VARIANT = "full"
MODELS_DIR = Path(os.environ.get("FORMCHECK_MODELS_DIR", Path(__file__).resolve().parent.parent / "models"))
OFFICIAL_URL = (
    "https://storage.googleapis.com/mediapipe-models/pose_landmarker/"
    "pose_landmarker_{v}/float16/1/pose_landmarker_{v}.task"
)
OFFICIAL_TIMEOUT_S = 4.0

WHEEL = "mediapipe==0.10.21"
NPM_PACKAGE = "@mediapipe/pose@0.5.1675469404"
TASKS_VISION = "@mediapipe/tasks-vision@1.1.0"
WEB_RUNTIME = "tasks-vision-1.1.0"  # its folder under models/web, and its URL under /formcheck/assets
# The browser needs only these of the package (38 MB of 60): the module, and the wasm with its loader, with and
# without SIMD (the second only where SIMD is missing).
WEB_RUNTIME_FILES = ("vision_bundle.mjs", "wasm/vision_wasm_internal.js", "wasm/vision_wasm_internal.wasm",
                     "wasm/vision_wasm_nosimd_internal.js", "wasm/vision_wasm_nosimd_internal.wasm")


@dataclass(frozen=True)
class Weights:
    """One published TFLite file: which package holds it, where, and its sha256."""

    registry: str  # "pypi" | "npm"
    member: str
    sha256: str


DETECTOR = Weights(
    "pypi", "mediapipe/modules/pose_detection/pose_detection.tflite",
    "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
)
LANDMARKERS = {
    "lite": Weights("npm", "package/pose_landmark_lite.tflite",
                    "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61"),
    "full": Weights("pypi", "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
                    "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"),
    "heavy": Weights("npm", "package/pose_landmark_heavy.tflite",
                     "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe"),
}
# Image-input normalisation each network was trained with (value = (pixel - mean) / std).
DETECTOR_NORM = (127.5, 127.5)
LANDMARKER_NORM = (0.0, 255.0)


def bundle_path(variant: str = DEFAULT_VARIANT) -> Path:
    return MODELS_DIR / f"pose_landmarker_{variant}.task"


def sha256_of(data_or_path: bytes | Path) -> str:
    if isinstance(data_or_path, bytes):
        return hashlib.sha256(data_or_path).hexdigest()
    digest = hashlib.sha256()
    with open(data_or_path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pinned_sums() -> dict[str, str]:
    """`models/SHA256SUMS`: file name → sha256 of the bundles this project builds."""
    sums_file = MODELS_DIR / "SHA256SUMS"
    if not sums_file.exists():
        return {}
    pairs = (line.split() for line in sums_file.read_text().splitlines() if line.strip())
    return {name: digest for digest, name in pairs}


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _log(message: str) -> None:
    print(f"formcheck: {message}", file=sys.stderr, flush=True)


def ensure_model(variant: str = DEFAULT_VARIANT, quiet: bool = False) -> Path:
    """Return the path of a verified bundle, preparing it first if it is not there yet."""
    if variant not in VARIANTS:
        raise ModelError(f"unknown pose model '{variant}': choose one of {', '.join(VARIANTS)}")
    path = bundle_path(variant)
    if not path.exists():
        prepare(variant, quiet=quiet)
    verify(path)
    return path


def verify(path: Path) -> None:
    """A bundle is trusted when its sha256 is the pinned one (or the one recorded at download)."""
    fix = f"delete it and run `formcheck models --variant {path.stem.rsplit('_', 1)[-1]}` to prepare it again"
    if not path.exists():
        raise ModelError(f"pose model {path} is missing: run `formcheck models` to prepare it")
    expected = pinned_sums().get(path.name)
    if _sidecar(path).exists():
        expected = _sidecar(path).read_text().strip()
    if expected is None:
        raise ModelError(f"pose model {path} has no known checksum: {fix}")
    if sha256_of(path) != expected:
        raise ModelError(f"pose model {path} is corrupt (sha256 mismatch): {fix}")


def prepare(variant: str = DEFAULT_VARIANT, quiet: bool = False) -> Path:
    """Fetch the official bundle or build one from registry weights; written atomically."""
    path = bundle_path(variant)
    path.parent.mkdir(parents=True, exist_ok=True)
    say = (lambda m: None) if quiet else _log
    say(f"preparing pose model '{variant}' (one time) ...")
    if os.environ.get("FORMCHECK_OFFLINE") != "1" and _try_official(variant, path):
        say(f"pose model '{variant}' downloaded from the official host -> {path}")
        return path
    say("official model host not reachable; building the bundle from published weights on PyPI/npm ...")
    data = build_bundle(variant, say)
    expected = pinned_sums().get(path.name)
    if expected and sha256_of(data) != expected:
        raise ModelError(f"built pose model '{variant}' does not match models/SHA256SUMS; the sources may have changed")
    write_atomic(path, data)
    _sidecar(path).unlink(missing_ok=True)
    say(f"pose model '{variant}' ready -> {path}")
    return path


def _try_official(variant: str, path: Path) -> bool:
    try:
        with urllib.request.urlopen(OFFICIAL_URL.format(v=variant), timeout=OFFICIAL_TIMEOUT_S) as response:
            data = response.read()
    except Exception:  # any network failure just means: build it instead
        return False
    if not _looks_like_bundle(data):
        return False
    write_atomic(path, data)
    _sidecar(path).write_text(sha256_of(data) + "\n")
    return True


def _looks_like_bundle(data: bytes) -> bool:
    """A PoseLandmarker bundle: a stored zip holding the two TFLite networks."""
    import io

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = {i.filename: i for i in zf.infolist()}
            wanted = ("pose_detector.tflite", "pose_landmarks_detector.tflite")
            return all(n in infos and infos[n].compress_type == zipfile.ZIP_STORED for n in wanted) and all(
                zf.read(n)[4:8] == b"TFL3" for n in wanted
            )
    except zipfile.BadZipFile:
        return False


# --- building from the registries ------------------------------------------------------------


def build_bundle(variant: str, say=_log) -> bytes:
    """The `.task` bytes for `variant`, deterministic for the pinned inputs."""
    detector = _fetch_weights(DETECTOR, say)
    landmarker = _fetch_weights(LANDMARKERS[variant], say)
    members = {
        "pose_detector.tflite": with_image_metadata(detector, "pose_detector", *DETECTOR_NORM),
        "pose_landmarks_detector.tflite": with_image_metadata(landmarker, "pose_landmarks_detector", *LANDMARKER_NORM),
    }
    return stored_aligned_zip(members)


def _fetch_weights(weights: Weights, say) -> bytes:
    cache = MODELS_DIR / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    archive = _download_wheel(cache, say) if weights.registry == "pypi" else _download_npm(cache, say)
    try:
        if weights.registry == "pypi":
            with zipfile.ZipFile(archive) as zf:
                data = zf.read(weights.member)
        else:
            with tarfile.open(archive) as tf:
                member = tf.extractfile(weights.member)
                data = member.read() if member else b""
    except (KeyError, OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
        archive.unlink(missing_ok=True)
        raise ModelError(f"could not read {weights.member} from {archive.name} ({exc}); "
                         "run `formcheck models` again") from None
    if sha256_of(data) != weights.sha256:
        archive.unlink(missing_ok=True)
        raise ModelError(f"{weights.member} in {archive.name} has an unexpected sha256; refusing to use it")
    return data


def _run(cmd: list[str], what: str) -> None:
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except FileNotFoundError:
        raise ModelError(f"{what} needs `{Path(cmd[0]).name}`, which is not installed") from None
    except subprocess.TimeoutExpired:
        raise ModelError(f"{what} timed out; check the connection to the package registry") from None
    if result.returncode != 0:
        raise ModelError(f"{what} failed: {_telling_line(result.stderr)}")


def _telling_line(stderr: str) -> str:
    """The line of a failed command's errors that says what went wrong: pip's last line; npm's first that is not
    a code, errno or the path of its log (its last line is always that path)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    npm = [line.split(" ", 2)[-1] for line in lines if line.startswith(("npm error ", "npm ERR! "))]
    telling = [line for line in npm if not line.startswith(("code ", "syscall ", "errno ", "A complete log"))]
    return (telling or npm or lines or ["no output"])[0 if npm else -1]


def _download_wheel(cache: Path, say) -> Path:
    found = sorted(cache.glob("mediapipe-0.10.21-*.whl"))
    if found:
        return found[0]
    say(f"downloading {WHEEL} from PyPI (weights only, not installed) ...")
    _run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.11",
          "--quiet", "--dest", str(cache), WHEEL], f"pip download {WHEEL}")
    found = sorted(cache.glob("mediapipe-0.10.21-*.whl"))
    if not found:
        raise ModelError(f"pip download {WHEEL} produced no wheel")
    return found[0]


def _download_npm(cache: Path, say) -> Path:
    return _npm_pack(NPM_PACKAGE, "mediapipe-pose-*.tgz", cache, say, "weights only")


def _npm_pack(package: str, pattern: str, cache: Path, say, what: str) -> Path:
    """The npm package's tarball in `cache` (found by `pattern`), downloaded with `npm pack` if not there yet."""
    found = sorted(cache.glob(pattern))
    if found:
        return found[0]
    say(f"downloading {package} from npm ({what}) ...")
    npm = shutil.which("npm") or "npm"
    _run([npm, "pack", package, "--loglevel", "error", "--pack-destination", str(cache)], f"npm pack {package}")
    found = sorted(cache.glob(pattern))
    if not found:
        raise ModelError(f"npm pack {package} produced no archive")
    return found[0]


# --- the browser's pose runtime ----------------------------------------------------------------


def web_runtime_dir() -> Path:
    return MODELS_DIR / "web" / WEB_RUNTIME


def ensure_web_runtime(quiet: bool = False) -> Path:
    """The folder of the browser's pose runtime, each file as pinned; prepared from npm first if it is not."""
    folder = web_runtime_dir()
    pins = {name: _pin(f"web/{WEB_RUNTIME}/{name}") for name in WEB_RUNTIME_FILES}
    if all((folder / name).is_file() and sha256_of(folder / name) == pin for name, pin in pins.items()):
        return folder
    say = (lambda m: None) if quiet else _log
    say(f"preparing the browser's pose runtime {TASKS_VISION} (one time) ...")
    cache = MODELS_DIR / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    tarball = _npm_pack(TASKS_VISION, f"mediapipe-{WEB_RUNTIME}.tgz", cache, say, "its module and wasm only")
    if sha256_of(tarball) != _pin(tarball.name):
        tarball.unlink(missing_ok=True)
        raise ModelError(f"{tarball.name} from npm has an unexpected sha256; refusing to use it")
    files = {}
    try:
        with tarfile.open(tarball) as tf:
            for name in WEB_RUNTIME_FILES:
                member = tf.extractfile(f"package/{name}")
                files[name] = member.read() if member else b""
    except (KeyError, OSError, tarfile.TarError) as exc:
        raise ModelError(f"could not read the browser's runtime from {tarball.name} ({exc})") from None
    for name, data in files.items():
        if sha256_of(data) != pins[name]:
            raise ModelError(f"{name} in {tarball.name} has an unexpected sha256; refusing to use it")
    _replace_folder(folder, files)
    say(f"browser's pose runtime ready -> {folder}")
    return folder


def _pin(name: str) -> str:
    """The pinned sha256 of `name` (a path under models/) in models/SHA256SUMS."""
    pin = pinned_sums().get(name)
    if pin is None:
        raise ModelError(f"models/SHA256SUMS has no sha256 for {name}; refusing to use it unchecked")
    return pin


def _replace_folder(folder: Path, files: dict[str, bytes]) -> None:
    """`folder` holding exactly `files` (relative name → bytes), written beside it and renamed into place, so it
    is never seen half-written."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".part"))
    old = folder.with_name(f".{folder.name}.{os.getpid()}.old")
    try:
        for name, data in files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_bytes(data)
            (staging / name).chmod(0o644)
        for sub in (staging, *(p for p in staging.rglob("*") if p.is_dir())):
            sub.chmod(0o755)
        if folder.exists():
            os.replace(folder, old)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def with_image_metadata(tflite: bytes, name: str, mean: float, std: float) -> bytes:
    """Add TFLite model metadata: one RGB image input with its NormalizationOptions.

    MediaPipe's image preprocessing reads the normalisation from this metadata; the
    registry weights have none ("requires specifying NormalizationOptions metadata").
    """
    import flatbuffers
    from mediapipe.tasks.metadata import metadata_schema_py_generated as md
    from mediapipe.tasks.metadata import schema_py_generated as tfl

    model = tfl.ModelT.InitFromPackedBuf(bytearray(tflite), 0)
    graph = model.subgraphs[0]

    norm = md.ProcessUnitT()
    norm.optionsType = md.ProcessUnitOptions.NormalizationOptions
    norm.options = md.NormalizationOptionsT()
    norm.options.mean, norm.options.std = [mean], [std]
    image = md.ContentT()
    image.contentPropertiesType = md.ContentProperties.ImageProperties
    image.contentProperties = md.ImagePropertiesT()
    image.contentProperties.colorSpace = md.ColorSpaceType.RGB
    image_input = md.TensorMetadataT()
    image_input.name, image_input.content, image_input.processUnits = "image", image, [norm]

    def feature(i: int):
        out = md.TensorMetadataT()
        out.name = graph.tensors[graph.outputs[i]].name.decode() if graph.tensors[graph.outputs[i]].name else f"out{i}"
        return out

    sub = md.SubGraphMetadataT()
    sub.inputTensorMetadata = [image_input]
    sub.outputTensorMetadata = [feature(i) for i in range(len(graph.outputs))]
    meta = md.ModelMetadataT()
    meta.name, meta.subgraphMetadata, meta.minParserVersion = name, [sub], "1.0.0"

    builder = flatbuffers.Builder(0)
    builder.Finish(meta.Pack(builder), file_identifier=b"M001")
    buffer = tfl.BufferT()
    buffer.data = list(builder.Output())
    model.buffers.append(buffer)
    entry = tfl.MetadataT()
    entry.name, entry.buffer = "TFLITE_METADATA", len(model.buffers) - 1
    model.metadata = [m for m in (model.metadata or []) if m.name != b"TFLITE_METADATA"] + [entry]

    builder = flatbuffers.Builder(len(tflite) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def stored_aligned_zip(members: dict[str, bytes], alignment: int = 4) -> bytes:
    """An uncompressed zip whose member data start on `alignment` bytes, so MediaPipe can mmap them.

    Padding goes in each local header's extra field; fixed timestamps keep the bytes reproducible.
    """
    import io

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            header_end = out.tell() + 30 + len(name.encode())
            if header_end % alignment:  # a well-formed padding record, as Android's zipalign writes
                pad = (-(header_end + 4)) % alignment
                info.extra = struct.pack("<HH", 0xD935, pad) + b"\x00" * pad
            zf.writestr(info, data)
    return out.getvalue()
