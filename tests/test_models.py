"""The pose model bundle: built reproducibly, verified by checksum, accepted by MediaPipe."""

import io
import shutil
import zipfile

import pytest

from formcheck import models
from formcheck.errors import ModelError


def test_stored_aligned_zip_is_uncompressed_aligned_and_reproducible():
    members = {"pose_detector.tflite": b"x" * 1001, "pose_landmarks_detector.tflite": b"y" * 77}
    data = models.stored_aligned_zip(members)
    assert data == models.stored_aligned_zip(members)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
            assert zf.read(info.filename) == members[info.filename]
            # local header: 30 bytes + name + extra, then the data
            name_len = int.from_bytes(data[info.header_offset + 26:info.header_offset + 28], "little")
            extra_len = int.from_bytes(data[info.header_offset + 28:info.header_offset + 30], "little")
            assert (info.header_offset + 30 + name_len + extra_len) % 4 == 0


def test_the_default_bundle_is_prepared_and_verified():
    path = models.ensure_model("full")
    assert path.exists()
    models.verify(path)
    assert models._looks_like_bundle(path.read_bytes())


def test_built_bundle_matches_its_pin_and_carries_normalisation_metadata():
    """Rebuild from the cached registry weights: same bytes as pinned; metadata readable."""
    from mediapipe.tasks.metadata import metadata_schema_py_generated as md
    from mediapipe.tasks.metadata import schema_py_generated as tfl

    data = models.build_bundle("full", say=lambda m: None)
    assert models.sha256_of(data) == models.pinned_sums()["pose_landmarker_full.task"]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for member, (mean, std) in (("pose_detector.tflite", models.DETECTOR_NORM),
                                    ("pose_landmarks_detector.tflite", models.LANDMARKER_NORM)):
            model = tfl.Model.GetRootAs(zf.read(member))
            entry = next(model.Metadata(i) for i in range(model.MetadataLength())
                         if model.Metadata(i).Name() == b"TFLITE_METADATA")
            raw = model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
            meta = md.ModelMetadata.GetRootAs(raw)
            unit = meta.SubgraphMetadata(0).InputTensorMetadata(0).ProcessUnits(0)
            options = md.NormalizationOptions()
            options.Init(unit.Options().Bytes, unit.Options().Pos)
            assert (options.Mean(0), options.Std(0)) == (mean, std)


def test_corrupt_bundle_is_a_clear_error(tmp_path, monkeypatch):
    shutil.copy(models.MODELS_DIR / "SHA256SUMS", tmp_path / "SHA256SUMS")
    monkeypatch.setattr(models, "MODELS_DIR", tmp_path)
    bad = tmp_path / "pose_landmarker_full.task"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="corrupt"):
        models.verify(bad)
    with pytest.raises(ModelError, match="missing"):
        models.verify(tmp_path / "pose_landmarker_lite.task")


def test_unknown_variant_is_a_clear_error():
    with pytest.raises(ModelError, match="unknown pose model"):
        models.ensure_model("huge")


def test_mediapipe_loads_the_bundle_and_finds_nobody_in_a_blank_frame():
    import numpy as np

    from formcheck.pose import PoseEstimator

    with PoseEstimator("full") as estimator:
        assert estimator.detect(np.zeros((240, 320, 3), np.uint8), 0.0) is None


def test_overlapping_silences_from_threads_give_stderr_back():
    """Chunk workers and concurrent live sessions start landmarkers at once: fd 2 must come back whatever the
    order the silences end in (the old save/restore per call could leave stderr pointing at /dev/null)."""
    import os
    import threading

    from formcheck.pose import native_logs_silenced

    def target():
        return os.readlink("/proc/self/fd/2")

    original = target()
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = []

    def first():
        with native_logs_silenced():
            a_in.set()
            b_in.wait(5)
            seen.append(target())
        a_out.set()

    def second():
        a_in.wait(5)
        with native_logs_silenced():
            b_in.set()
            a_out.wait(5)  # the first silence ends while this one is still on
            seen.append(target())

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    [t.start() for t in threads]
    [t.join(10) for t in threads]
    assert seen == [os.devnull, os.devnull]
    assert target() == original
