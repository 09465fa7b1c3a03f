"""The one place that reads and writes video files (PyAV), so codec quirks and errors stay in one module.

Every failure a user can cause (wrong path, not a video, truncated file...) becomes a one-line VideoError.
"""

from __future__ import annotations

import math
import os
import queue
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from formcheck.errors import VideoError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
_AV_ERRORS = (av.FFmpegError, OSError)
_WRITE_TIME_BASE = Fraction(1, 90000)


@dataclass(frozen=True)
class VideoInfo:
    """What a clip is, before decoding it all. Sizes are as displayed (after rotation)."""

    path: str
    width: int
    height: int
    fps: float  # average rate; informational only, timing comes from each frame's t_s
    duration_s: float
    frames: int
    rotation_deg: int  # clockwise turn (0/90/180/270) needed to show the stored image upright


@dataclass(frozen=True)
class Frame:
    """One decoded frame, upright, stamped with its real presentation time (phones record variable frame rate)."""

    index: int  # 0-based among the frames read
    t_s: float  # seconds from the start of the stream, from the PTS
    rgb: np.ndarray | None  # H x W x 3 uint8, C-contiguous; None between the steps of read_frames' fps


def is_image_path(path: str | os.PathLike) -> bool:
    """Stills are routed to read_image; decided by suffix only."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def _check_file(path: str | os.PathLike, kind: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise VideoError(f"Cannot read {kind} '{p}': no such file; check the path.")
    if not p.is_file():
        raise VideoError(f"Cannot read {kind} '{p}': it is a directory; give the path of a {kind} file.")
    if p.stat().st_size == 0:
        raise VideoError(f"Cannot read {kind} '{p}': the file is empty (0 bytes); copy or export it again.")
    return p


def _open(path: str | os.PathLike) -> tuple[av.container.InputContainer, av.video.stream.VideoStream, Path]:
    p = _check_file(path, "video")
    try:
        container = av.open(str(p))
    except _AV_ERRORS as exc:
        raise VideoError(f"Cannot read video '{p}': not a readable video (wrong format, corrupt or no permission); "
                         "export it again as .mp4.") from exc
    if not container.streams.video:
        container.close()
        raise VideoError(f"Cannot read video '{p}': it has no video stream (audio only?); choose a video file.")
    return container, container.streams.video[0], p


def _no_frames(p: Path) -> VideoError:
    return VideoError(f"Cannot read video '{p}': it contains no decodable video frames; export it again as .mp4.")


def _rotation_cw(frame: av.VideoFrame, stream: av.video.stream.VideoStream) -> int:
    """Clockwise degrees to show the frame upright: display-matrix side data, else the legacy 'rotate' tag."""
    ccw = frame.rotation  # FFmpeg's display matrix angle, counter-clockwise, in [-180, 180]
    if ccw:
        return round(-ccw / 90) * 90 % 360
    try:
        return round(float(stream.metadata.get("rotate", 0)) / 90) * 90 % 360
    except ValueError:
        return 0


def _decoded(container, stream) -> Iterator[av.VideoFrame]:
    """Frames until the end, or until the file turns corrupt (a truncated file stops at its last good frame)."""
    frames = container.decode(stream)
    while True:
        try:
            frame = next(frames)
        except (StopIteration, *_AV_ERRORS):
            return
        yield frame


def probe(path: str | os.PathLike) -> VideoInfo:
    """Metadata only; decodes one frame because PyAV exposes rotation on frames, not streams."""
    container, stream, p = _open(path)
    with container:
        first = next(_decoded(container, stream), None)
        if first is None:
            raise _no_frames(p)
        rotation = _rotation_cw(first, stream)
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else 0.0
        if stream.duration is not None and stream.time_base is not None:
            duration_s = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration_s = container.duration / av.time_base
        else:
            duration_s = 0.0
        frames = stream.frames or round(duration_s * fps)
        width, height = first.width, first.height
    if rotation in (90, 270):
        width, height = height, width
    return VideoInfo(str(p), width, height, fps, duration_s, frames, rotation)


STEP_TOLERANCE_S = 0.001  # a frame this close before its step counts as on it (time stamps are rounded)


def read_frames(path: str | os.PathLike, max_side: int | None = None, start_s: float | None = None,
                stop_s: float | None = None, fps: float | None = None) -> Iterator[Frame]:
    """Stream upright RGB frames with PTS times, never holding the whole clip.

    Frames without a PTS or not later than the previous one are dropped, so t_s is strictly increasing.
    With max_side, frames whose larger side exceeds it are shrunk keeping the aspect ratio.
    With start_s/stop_s, only frames with start_s <= t_s < stop_s (seeking to the keyframe before start_s);
    such a part of a clip may be empty (a truncated file), the whole clip may not.
    With fps, a steady rate: the first frame in each step of 1/fps s from the stream's start (every frame of a
    slower source) comes as a picture, the same frames whichever start_s (bar the first, if it falls mid-step);
    the others are decoded (the codec needs them) but never converted, and come with `rgb` None.
    """
    container, stream, p = _open(path)
    with container:
        stream.thread_type = "AUTO"
        start = stream.start_time or 0
        if start_s:
            try:
                container.seek(start + int(start_s / stream.time_base), stream=stream, backward=True)
            except _AV_ERRORS:
                pass  # not seekable: decode from the start and skip
        rotation = None
        last_pts = None
        index = 0
        last_step = None  # with fps: the step (of 1/fps s, from the stream's start) of the last frame converted
        for frame in _decoded(container, stream):
            if frame.pts is None or (last_pts is not None and frame.pts <= last_pts):
                continue
            last_pts = frame.pts
            t_s = float((frame.pts - start) * stream.time_base)
            if start_s is not None and t_s < start_s:
                continue
            if stop_s is not None and t_s >= stop_s:
                break
            if fps:
                step = math.floor((t_s + STEP_TOLERANCE_S) * fps)
                if step == last_step:
                    yield Frame(index, t_s, None)
                    index += 1
                    continue
                last_step = step
            if rotation is None:
                rotation = _rotation_cw(frame, stream)
            rgb = frame.to_ndarray(format="rgb24")
            if max_side is not None and max(rgb.shape[:2]) > max_side:
                scale = max_side / max(rgb.shape[:2])
                size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
                rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            rgb = np.ascontiguousarray(np.rot90(rgb, k=-rotation // 90))
            yield Frame(index, t_s, rgb)
            index += 1
    if index == 0 and start_s is None:
        raise _no_frames(p)


def decoded_ahead(frames: Iterator[Frame], depth: int = 4) -> Iterator[Frame]:
    """The same frames, decoded in a thread up to `depth` ahead of the caller (FFmpeg releases the GIL while
    decoding, so decoding overlaps the pose model). Errors arrive in order; stopping early stops the thread."""
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def decode() -> None:
        try:
            for frame in frames:
                if not put(frame):
                    return
            put(end)
        except BaseException as exc:  # handed to the caller, raised there
            put(exc)
        finally:
            frames.close()  # closes the container in the thread that used it

    worker = threading.Thread(target=decode, name="formcheck-decode", daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not end:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def read_image(path: str | os.PathLike) -> np.ndarray:
    """A still photo as upright RGB uint8 (cv2.imread applies the EXIF orientation)."""
    p = _check_file(path, "image")
    bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)
    if bgr is None:
        raise VideoError(f"Cannot read image '{p}': not an image file or corrupt; use a .jpg or .png photo.")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class VideoWriter:
    """H.264/yuv420p MP4 (plays in browsers) with true per-frame timestamps.

    Written to a temporary file beside `path` and moved onto it only when the `with` block ends cleanly,
    so a crash never leaves a half-written video at `path`.
    """

    def __init__(self, path: str | os.PathLike, width: int, height: int, fps: float = 30.0):
        self.path = Path(path)
        self.width, self.height = width // 2 * 2, height // 2 * 2  # yuv420p needs even sizes
        if self.width < 2 or self.height < 2 or not fps > 0:
            raise ValueError(f"bad video size/rate {width}x{height} @ {fps} fps")
        self._last_pts = -1
        try:
            fd, tmp = tempfile.mkstemp(suffix=".mp4", prefix=f".{self.path.stem}.", dir=self.path.parent)
            os.close(fd)
            os.chmod(tmp, 0o644)  # mkstemp makes it private; the output is an ordinary file
        except OSError as exc:
            raise VideoError(f"Cannot write video '{self.path}' ({exc.strerror}): "
                             "check the folder exists and is writable.") from exc
        self._tmp = Path(tmp)
        self._container = None
        try:
            self._container = av.open(tmp, "w", format="mp4", options={"movflags": "+faststart"})
            self._stream = self._container.add_stream("libx264", rate=Fraction(fps).limit_denominator(10000))
            self._stream.width, self._stream.height = self.width, self.height
            self._stream.pix_fmt = "yuv420p"
            self._stream.codec_context.time_base = _WRITE_TIME_BASE
            self._stream.options = {"crf": "23", "preset": "veryfast"}
        except (*_AV_ERRORS, ValueError) as exc:  # an unknown codec is a ValueError
            if self._container is not None:
                self._container.close()
            self._tmp.unlink(missing_ok=True)
            raise VideoError(f"Cannot start writing video '{self.path}' ({exc}): check PyAV has libx264.") from exc

    def __enter__(self) -> VideoWriter:
        return self

    def write(self, rgb: np.ndarray, t_s: float) -> None:
        """Add one H x W x 3 uint8 RGB frame shown at t_s seconds (pts nudged forward if not increasing)."""
        h, w = self.height, self.width
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] < h or rgb.shape[1] < w:
            raise ValueError(f"frame {rgb.shape} {rgb.dtype} is not {h}x{w}x3 uint8")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:h, :w]), format="rgb24")
        pts = max(round(t_s / _WRITE_TIME_BASE), self._last_pts + 1)
        frame.pts, frame.time_base = pts, _WRITE_TIME_BASE
        self._last_pts = pts
        try:
            self._container.mux(self._stream.encode(frame))
        except _AV_ERRORS as exc:
            raise VideoError(f"Cannot write video '{self.path}' ({exc}): check free disk space.") from exc

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._finish()
            else:
                self._abandon()
        finally:
            self._tmp.unlink(missing_ok=True)  # already gone after a successful replace

    def _finish(self) -> None:
        try:
            self._container.mux(self._stream.encode(None))  # flush frames the encoder still holds
            self._container.close()
            os.replace(self._tmp, self.path)
        except _AV_ERRORS as exc:
            raise VideoError(f"Cannot finish video '{self.path}' ({exc}): check free disk space.") from exc

    def _abandon(self) -> None:
        try:
            self._container.close()
        except _AV_ERRORS:
            pass  # the caller's exception is the one that matters; the temp file is deleted anyway


def write_y4m(src: str | os.PathLike, out: str | os.PathLike, width: int = 640, fps: int = 24) -> Path:
    """A clip as raw .y4m, `width` wide: what Chromium plays as a fake camera (tests, benchmarks, screenshots)."""
    import cv2

    first = next(read_frames(src))
    height = int(round(first.rgb.shape[0] * width / first.rgb.shape[1] / 2) * 2)
    with av.open(str(out), "w", format="yuv4mpegpipe") as container:
        stream = container.add_stream("rawvideo", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for frame in read_frames(src):
            image = cv2.resize(frame.rgb, (width, height), interpolation=cv2.INTER_AREA)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return Path(out)
