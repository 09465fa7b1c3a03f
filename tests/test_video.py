"""Video I/O: timestamps survive a round trip, rotation comes out upright, every bad input is one clear VideoError."""

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from conftest import clip as real_clip

from formcheck.errors import VideoError
from formcheck.video import (Frame, VideoInfo, VideoWriter, decoded_ahead, is_image_path, probe, read_frames,
                             read_image)

W, H = 96, 64


def square_frame(i: int) -> np.ndarray:
    """A white square on black that moves right by 3 px per frame."""
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[20:36, 3 * i : 3 * i + 16] = 255
    return rgb


def variable_times(n: int) -> list[float]:
    """Gaps alternating 1/30 s and 1/15 s, like a phone dropping frames."""
    times, t = [], 0.0
    for i in range(n):
        times.append(t)
        t += 1 / 30 if i % 2 else 1 / 15
    return times


@pytest.fixture
def clip(tmp_path) -> tuple[Path, list[float]]:
    path = tmp_path / "clip.mp4"
    times = variable_times(20)
    with VideoWriter(path, W, H, fps=30) as writer:
        for i, t in enumerate(times):
            writer.write(square_frame(i), t)
    return path, times


def write_raw(path: Path, images: list[np.ndarray], rotation_ccw: int = 0, faststart: bool = False) -> None:
    """Encode with PyAV directly, to add a display matrix or leave the moov atom at the end."""
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", format="mp4", options=options) as container:
        stream = container.add_stream("libx264", rate=30)
        stream.height, stream.width = images[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        if rotation_ccw:
            stream.set_display_rotation(rotation_ccw)
        for i, rgb in enumerate(images):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def assert_one_line_error(excinfo, name: str) -> None:
    message = str(excinfo.value)
    assert name in message and "\n" not in message


def test_round_trip_keeps_variable_timestamps(clip):
    path, times = clip
    frames = list(read_frames(path))
    assert len(frames) == len(times)
    assert all(isinstance(f, Frame) for f in frames)
    assert [f.index for f in frames] == list(range(len(times)))
    assert np.allclose([f.t_s for f in frames], times, atol=0.002)
    assert all(b.t_s > a.t_s for a, b in zip(frames, frames[1:]))
    for f in frames:
        assert f.rgb.shape == (H, W, 3) and f.rgb.dtype == np.uint8 and f.rgb.flags.c_contiguous
    # the square is where it was drawn (lossy codec: compare coarsely)
    assert abs(frames[5].rgb[28, 15 + 8].mean() - 255) < 40 and frames[5].rgb[50, 50].mean() < 40
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"


def test_writer_output_is_faststart(clip):
    data = clip[0].read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")


def test_writer_rounds_odd_size_down_to_even(tmp_path):
    path = tmp_path / "odd.mp4"
    with VideoWriter(path, 65, 49) as writer:
        for i in range(3):
            writer.write(np.full((49, 65, 3), 100, np.uint8), i / 30)
    info = probe(path)
    assert (info.width, info.height) == (64, 48)


def test_probe(clip):
    path, times = clip
    info = probe(path)
    assert isinstance(info, VideoInfo)
    assert info.path == str(path)
    assert (info.width, info.height, info.rotation_deg) == (W, H, 0)
    assert info.frames == 20
    assert info.duration_s == pytest.approx(times[-1], abs=0.1)
    assert info.fps > 0


def make_bad_input(folder: Path, kind: str) -> Path:
    path = folder / f"{kind}.mp4"
    if kind == "zero-byte":
        path.write_bytes(b"")
    elif kind == "text-renamed":
        path.write_text("these are my notes, not a video\n" * 20)
    elif kind == "directory":
        path.mkdir()
    return path  # "missing": nothing created


@pytest.mark.parametrize("kind", ["missing", "zero-byte", "text-renamed", "directory"])
def test_bad_inputs_raise_one_line_video_error(tmp_path, kind):
    path = make_bad_input(tmp_path, kind)
    with pytest.raises(VideoError) as excinfo:
        probe(path)
    assert_one_line_error(excinfo, path.name)
    with pytest.raises(VideoError) as excinfo:
        list(read_frames(path))
    assert_one_line_error(excinfo, path.name)


def test_audio_only_file(tmp_path):
    path = tmp_path / "voice.mp4"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000)
        for i in range(10):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    for read in (probe, lambda p: list(read_frames(p))):
        with pytest.raises(VideoError) as excinfo:
            read(path)
        assert_one_line_error(excinfo, "voice.mp4")
        assert "no video stream" in str(excinfo.value)


def test_truncated_faststart_file_stops_at_last_good_frame(tmp_path):
    path = tmp_path / "whole.mp4"
    rng = np.random.default_rng(0)  # noise: big frames, so the cut lands mid-stream
    write_raw(path, [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(60)], faststart=True)
    cut = tmp_path / "cut.mp4"
    data = path.read_bytes()
    cut.write_bytes(data[: len(data) * 6 // 10])
    frames = list(read_frames(cut))
    assert 0 < len(frames) < 60
    assert [f.index for f in frames] == list(range(len(frames)))
    assert all(b.t_s > a.t_s for a, b in zip(frames, frames[1:]))


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9])
def test_truncated_file_without_index_is_a_video_error(tmp_path, keep):
    path = tmp_path / "whole.mp4"
    write_raw(path, [square_frame(i) for i in range(20)])  # moov at the end: a cut removes the index
    cut = tmp_path / "cut.mp4"
    data = path.read_bytes()
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(VideoError) as excinfo:
        list(read_frames(cut))
    assert_one_line_error(excinfo, "cut.mp4")


def test_writer_is_atomic_on_error(tmp_path):
    path = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="boom"):
        with VideoWriter(path, W, H) as writer:
            writer.write(square_frame(0), 0.0)
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_writer_replaces_only_on_success(tmp_path):
    path = tmp_path / "out.mp4"
    path.write_bytes(b"previous result")
    with pytest.raises(RuntimeError):
        with VideoWriter(path, W, H) as writer:
            writer.write(square_frame(0), 0.0)
            raise RuntimeError("boom")
    assert path.read_bytes() == b"previous result"
    with VideoWriter(path, W, H) as writer:
        writer.write(square_frame(0), 0.0)
    assert len(list(read_frames(path))) == 1
    assert list(tmp_path.iterdir()) == [path]


def test_writer_into_missing_folder_is_a_video_error(tmp_path):
    with pytest.raises(VideoError) as excinfo:
        VideoWriter(tmp_path / "nope" / "out.mp4", W, H)
    assert_one_line_error(excinfo, "out.mp4")


def test_max_side_downscales_keeping_aspect(clip):
    frames = list(read_frames(clip[0], max_side=48))
    assert len(frames) == 20
    assert all(f.rgb.shape == (32, 48, 3) and f.rgb.flags.c_contiguous for f in frames)
    assert list(read_frames(clip[0], max_side=500))[0].rgb.shape == (H, W, 3)  # never upscales


def upright_portrait() -> np.ndarray:
    """A tall image with a red bar at the top and a green bar at the left, so any turn or flip is visible."""
    rgb = np.zeros((96, 64, 3), np.uint8)
    rgb[:16, :, 0] = 255
    rgb[16:, :16, 1] = 255
    return rgb


def colour_at(rgb: np.ndarray, row: int, col: int) -> str:
    r, g, b = rgb[row, col].astype(int)
    return "red" if r > 150 and g < 100 else "green" if g > 150 and r < 100 else "black" if max(r, g, b) < 60 else "?"


@pytest.mark.parametrize(
    ("rotation_ccw", "turn_to_store", "expected_cw"),
    [
        (-90, 1, 90),  # phone held upright: sensor stores it turned 90° counter-clockwise, ffprobe says -90
        (90, -1, 270),
        (180, 2, 180),
        (0, 0, 0),
    ],
)
def test_rotation_metadata_gives_upright_frames(tmp_path, rotation_ccw, turn_to_store, expected_cw):
    upright = upright_portrait()
    stored = np.ascontiguousarray(np.rot90(upright, k=turn_to_store))
    path = tmp_path / "phone.mp4"
    write_raw(path, [stored] * 3, rotation_ccw=rotation_ccw)
    info = probe(path)
    assert info.rotation_deg == expected_cw
    assert (info.width, info.height) == (64, 96)
    frames = list(read_frames(path))
    assert len(frames) == 3
    rgb = frames[0].rgb
    assert rgb.shape == upright.shape and rgb.flags.c_contiguous
    assert colour_at(rgb, 4, 40) == "red"  # top
    assert colour_at(rgb, 60, 4) == "green"  # left
    assert colour_at(rgb, 60, 40) == "black"
    assert list(read_frames(path, max_side=48))[0].rgb.shape == (48, 32, 3)


def test_read_image_png(tmp_path):
    rgb = upright_portrait()
    path = tmp_path / "photo.png"
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    out = read_image(path)
    assert out.dtype == np.uint8 and out.flags.c_contiguous
    assert np.array_equal(out, rgb)


def test_read_image_rejects_text(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_text("not a photo")
    with pytest.raises(VideoError) as excinfo:
        read_image(path)
    assert_one_line_error(excinfo, "photo.jpg")
    with pytest.raises(VideoError):
        read_image(tmp_path / "absent.png")


def test_is_image_path():
    assert all(is_image_path(p) for p in ["a.jpg", "b.JPEG", "c.png", "d.bmp", Path("e.webp")])
    assert not any(is_image_path(p) for p in ["a.mp4", "b.mov", "jpg", "c.jpg.mp4"])


def test_real_clip_in_place():
    path = real_clip("legraise_supine_dk1.mp4")
    info = probe(path)
    assert (info.width, info.height, info.rotation_deg) == (1280, 668, 0)
    assert info.fps == pytest.approx(24, abs=0.1)
    assert info.frames == 305
    assert info.duration_s == pytest.approx(12.71, abs=0.05)
    times = [f.t_s for f in read_frames(path, max_side=320)]
    assert len(times) == 305
    assert times[0] == 0.0
    assert times[-1] == pytest.approx(12.667, abs=0.05)
    assert all(b > a for a, b in zip(times, times[1:]))


def test_writer_rejects_wrong_frames(tmp_path):
    with VideoWriter(tmp_path / "out.mp4", W, H) as writer:
        for bad in (np.zeros((H, W, 3), np.float32), np.zeros((H, W - 1, 3), np.uint8), np.zeros((H, W), np.uint8)):
            with pytest.raises(ValueError):
                writer.write(bad, 0.0)
        writer.write(square_frame(0), 0.0)
        writer.write(square_frame(1), 0.0)  # same time: nudged forward so pts stay increasing
    assert len(list(read_frames(tmp_path / "out.mp4"))) == 2


def test_parts_of_a_real_clip_add_up_to_the_whole():
    """Seeking reads: consecutive parts give exactly the frames (times and pixels) of one pass, none twice."""
    path = real_clip("lunge_ucf101_g18c05.mp4")  # GOPs longer than the parts: seeks land before the cut
    whole = list(read_frames(path))
    cuts = [None, 2.5, 5.0, 7.37, None]
    parts = [f for start, stop in zip(cuts, cuts[1:]) for f in read_frames(path, start_s=start, stop_s=stop)]
    assert [f.t_s for f in parts] == [f.t_s for f in whole]
    assert all(np.array_equal(a.rgb, b.rgb) for a, b in zip(parts, whole))
    assert list(read_frames(path, start_s=60.0)) == []  # a part past the end is empty, not an error


def test_decoding_ahead_gives_the_same_frames_and_stops_with_the_reader(clip):
    import threading

    path, times = clip
    assert [f.t_s for f in decoded_ahead(read_frames(path), depth=2)] == [f.t_s for f in read_frames(path)]
    before = threading.active_count()
    frames = decoded_ahead(read_frames(path), depth=2)
    next(frames)
    frames.close()  # the caller stops early: the decoding thread ends too
    assert threading.active_count() == before


def test_decoding_ahead_raises_the_readers_error_in_the_caller(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    with pytest.raises(VideoError, match="bad.mp4"):
        list(decoded_ahead(read_frames(bad)))


@pytest.mark.parametrize("source_fps", [10, 24, 30, 60])
def test_a_steady_rate_reads_every_frame_and_converts_those_on_its_steps(tmp_path, source_fps):
    """At fps=15: every frame comes (its time true), a picture at least 15 times a second and never two in one
    1/15-s step (every frame of a 10-fps source); the pictures are the same frames when reading starts mid-clip."""
    n = 3 * source_fps
    path = tmp_path / f"c{source_fps}.mp4"
    with VideoWriter(path, 64, 48, fps=source_fps) as writer:
        for i in range(n):
            writer.write(square_frame(i)[:48, :64], i / source_fps)
    frames = list(read_frames(path, fps=15))
    assert [f.index for f in frames] == list(range(n))
    assert [f.t_s for f in frames] == pytest.approx([i / source_fps for i in range(n)], abs=1e-3)
    shown = [f.t_s for f in frames if f.rgb is not None]
    assert max(np.diff(shown)) <= 1 / 15 + 1 / source_fps / 2 and len(shown) >= min(n, 15 * 3) - 1
    steps = [int((t + 1e-3) * 15) for t in shown]
    assert len(set(steps)) == len(steps)  # one picture per step
    if source_fps <= 15:
        assert len(shown) == n
    later = [f.t_s for f in read_frames(path, start_s=1.0, fps=15) if f.rgb is not None]
    assert later == pytest.approx([t for t in shown if t >= 1.0 - 1e-6])
