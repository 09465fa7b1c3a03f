"""Analysing a recorded video: frames → pose → session → report, and the annotated copy.

The same `Session` the live page drives; here the whole clip is known, so smoothing is zero-phase.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from . import models, pause
from .errors import FormcheckError
from .exercises import CATALOGUE, make_checker
from .overlay import draw
from .exercises.records import CheckResult, Episode, FrameState
from .kinematics import measure
from .pose import Pose, PoseEstimator, PoseSeries
from .session import Analysis, Session
from .silhouette import BackOutline, back_outline
from .errors import VideoError
from .video import VideoInfo, VideoWriter, decoded_ahead, probe, read_frames, read_image

Progress = Callable[[int, int], None]  # (frames done, frames expected)

# What one upload may be, checked from the metadata before anything is decoded (an exercise video is
# minutes long; a film or an 8K master would tie up the server for hours).
MAX_BYTES = 2 * 1024**3
MAX_DURATION_S = 30 * 60
MAX_PIXELS = 3840 * 2160


def check_limits(path: str | Path, info: VideoInfo) -> None:
    name = Path(path).name
    size = Path(path).stat().st_size
    if size > MAX_BYTES:
        raise VideoError(f"'{name}' is {size / 1024**3:.1f} GB: the limit is {MAX_BYTES / 1024**3:.0f} GB; "
                         "trim it to the exercise")
    if info.duration_s > MAX_DURATION_S:
        raise VideoError(f"'{name}' lasts {info.duration_s / 60:.0f} min: the limit is {MAX_DURATION_S // 60} min; "
                         "trim it to the exercise")
    if info.frames <= 1:
        raise VideoError(f"'{name}' holds a single picture, not a video: check a still position as a photo "
                         "(.jpg/.png), or choose the video")
    if info.width * info.height > MAX_PIXELS:
        raise VideoError(f"'{name}' is {info.width}×{info.height}: the limit is 4K (3840×2160); "
                         "export it at a lower resolution")


# The steady rate uploads are tracked at (`formcheck analyze --every-frame`, `fps=None`: every frame): rehab
# movements are slow (a rep lasts 0.8 s or more, a touch-down 0.15 s or more), so 15 frames a second see every
# event in 2 frames or more.
ANALYSIS_FPS = 15.0


def analyze_video(path: str | Path, exercise: str, params: dict | None = None,
                  variant: str = models.DEFAULT_VARIANT, progress: Progress | None = None,
                  workers: int | None = None, fps: float | None = ANALYSIS_FPS) -> tuple[Analysis, VideoInfo]:
    """The whole clip at a steady `fps` (every frame of a slower source; None: every frame), tracked in
    consecutive parts by up to `workers` landmarkers at once (default: one per core).

    Each part has its own landmarker that starts WARMUP_S before the part (those poses are only for the
    tracker), so the merged series reads as one pass; the session then judges it in time order."""
    make_checker(exercise, params)  # a bad exercise or setting fails before any decoding
    info = probe(path)
    check_limits(path, info)
    parts = Parts(split(info.duration_s, workers or available_cores()), info.duration_s)
    masks = CATALOGUE[exercise].needs_mask
    expected = round(info.frames * min(1.0, fps / info.fps)) if fps and info.fps else info.frames
    cancel = threading.Event()
    with ThreadPoolExecutor(len(parts.all), thread_name_prefix="formcheck-part") as pool:
        pending = {pool.submit(_tracker, path, parts, variant, masks, cancel, fps) for _ in parts.all}
        try:
            while pending:
                finished, pending = wait(pending, timeout=0.25, return_when=FIRST_EXCEPTION)
                for job in finished:
                    job.result()  # an error in one tracker ends the analysis
                if progress:
                    progress(min(parts.done(), expected), expected)
        finally:
            cancel.set()
    session = Session(exercise, info.width, info.height, params)
    for part in sorted(parts.all, key=lambda part: part.start):
        for t_s, pose, outline in part.seen:
            session.add(pose, t_s, outline)
    if progress:
        progress(session.frames, session.frames)
    frames = sum(part.read for part in parts.all)
    return session.finish(), replace(info, frames=frames)  # the frames read, not the container's count


WARMUP_S = 1.0  # the tracker of a part starts this long before it, so poses at the seams match one pass
MIN_PART_S = 4.0  # shorter parts would spend more on warm-up and model start-up than they save


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def split(duration_s: float, workers: int) -> list[tuple[float | None, float | None]]:
    """Consecutive (start, stop) times covering the clip; None = from the very start / to the very end."""
    n = max(1, min(workers, int(duration_s // MIN_PART_S)))
    cuts = [duration_s * i / n for i in range(1, n)]
    return list(zip([None, *cuts], [*cuts, None]))


Tracked = list[tuple[float, Pose | None, BackOutline | None]]


@dataclass
class Part:
    """A stretch of the clip and what its landmarker saw: (t_s, pose without its mask, back outline) per frame
    analysed, and how many frames it has (analysed or not). `stop` moves earlier when another tracker takes
    over the rest of it."""
    start: float
    stop: float
    at: float  # the latest frame time taken
    seen: Tracked = field(default_factory=list)
    read: int = 0


class Parts:
    """The parts of one clip, handed to trackers as they ask: the first ones by `split`; then, so that no core
    waits while another still has far to go (frames differ in cost: one person or none, masks or not), the
    second half of what is left of the part with the most to go, when that is at least MIN_PART_S."""

    def __init__(self, spans: list[tuple[float | None, float | None]], duration_s: float):
        self.duration_s = duration_s
        self.all = [Part(start or 0.0, math.inf if stop is None else stop, start or 0.0) for start, stop in spans]
        self._waiting = list(self.all)
        self._lock = threading.Lock()

    def next(self) -> Part | None:
        with self._lock:
            if self._waiting:
                return self._waiting.pop(0)
            busy = max(self.all, key=self._left)
            if self._left(busy) < MIN_PART_S:
                return None
            cut = busy.at + self._left(busy) / 2
            part = Part(cut, busy.stop, cut)
            busy.stop = cut
            self.all.append(part)
            return part

    def take(self, part: Part, t_s: float) -> bool:
        """Whether the frame at `t_s` is still the part's (it was not handed on); the part reaches it."""
        with self._lock:
            if t_s >= part.stop:
                return False
            part.at = t_s
            return True

    def done(self) -> int:
        with self._lock:
            return sum(len(part.seen) for part in self.all)

    def _left(self, part: Part) -> float:
        return min(part.stop, self.duration_s) - part.at


def _tracker(path, parts: Parts, variant: str, masks: bool, cancel: threading.Event, fps: float | None) -> None:
    """Track parts until none is left, each through its own landmarker."""
    while not cancel.is_set() and (part := parts.next()) is not None:
        _track(path, part, parts, variant, masks, cancel, fps)


def _track(path, part: Part, parts: Parts, variant: str, masks: bool, cancel: threading.Event,
           fps: float | None) -> None:
    """One part through its own landmarker, until its (possibly moved) stop."""
    begin = max(0.0, part.start - WARMUP_S) if part.start > 0 else None
    with PoseEstimator(variant, masks=masks) as estimator:
        for frame in decoded_ahead(read_frames(path, start_s=begin, fps=fps)):
            if cancel.is_set():
                break
            warm_up = frame.t_s < part.start  # tracking only
            if not warm_up and not parts.take(part, frame.t_s):
                break
            part.read += not warm_up
            if frame.rgb is None:  # between two steps of the steady rate
                continue
            pose = estimator.detect(frame.rgb, frame.t_s)
            if warm_up:
                continue
            outline = back_outline(pose, pose.mask) if pose is not None else None
            part.seen.append((frame.t_s, replace(pose, mask=None) if pose is not None else None, outline))
            if len(part.seen) == 1:
                pause.point("tracking")  # tests hold an analysis under way here (formcheck/pause.py)


def analyze_photo(path: str | Path, exercise: str, params: dict | None = None,
                  variant: str = models.DEFAULT_VARIANT) -> tuple[Analysis, VideoInfo]:
    """Check the posture in one still photo (IMAGE mode): the faults it shows, or why it can't be judged."""
    checker = make_checker(exercise, params)
    rgb = read_image(path)
    height, width = rgb.shape[:2]
    with PoseEstimator(variant, masks=CATALOGUE[exercise].needs_mask, image_mode=True) as estimator:
        pose = estimator.detect(rgb, 0.0)
    outline = back_outline(pose, pose.mask) if pose is not None else None
    k = measure(pose, width, height, 0.0, *((outline.deviation, outline.head_curl_deg) if outline else ()))
    reason = checker.refuse(k)
    faults = [] if reason else checker.posture_faults(k)
    result = CheckResult(reps=[], holds=[], faults=[Episode(code, 0.0, 0.0) for code in faults],
                         refused=[Episode(reason, 0.0, 0.0)] if reason else [], side=None)
    state = FrameState(0.0, scoring=reason is None, refusal=reason, faults=tuple(faults))
    analysis = Analysis(exercise, [k], [state], result, PoseSeries.from_poses([0.0], [pose], width, height),
                        [outline.points if outline else None], dict(checker.p))
    return analysis, VideoInfo(str(path), width, height, 0.0, 0.0, 1, 0)


def write_annotated(path: str | Path, analysis: Analysis, out: str | Path, progress: Progress | None = None,
                    capture_at: list[float] = ()) -> dict[float, np.ndarray]:
    """Decode the clip again and draw on every frame the state of the analysed frame nearest in time (the
    analysis may have tracked a steady rate below the clip's), H.264, plays in browsers.
    Returns the annotated frames nearest to the `capture_at` times (the fault moments)."""
    spec = CATALOGUE[analysis.exercise]
    info = probe(path)
    target = spec.target_text(analysis.params)
    times = analysis.poses.t_s
    wanted = sorted(capture_at)
    captured = {}
    with VideoWriter(out, info.width, info.height, fps=info.fps or 30.0) as writer:
        for frame in decoded_ahead(read_frames(path)):
            i = nearest(times, frame.t_s)
            frame_rgb = draw(frame.rgb, analysis.poses.pose(i), analysis.states[i], spec, target, analysis.outlines[i])
            writer.write(frame_rgb, frame.t_s)
            while wanted and frame.t_s >= wanted[0] - 1e-6:
                captured[wanted.pop(0)] = frame_rgb
            if progress:
                progress(min(frame.index + 1, info.frames), info.frames)
            if frame.index == info.frames // 2:
                pause.point("annotating")  # tests hold a video half-written here (formcheck/pause.py)
    return captured


def nearest(times: np.ndarray, t: float) -> int:
    """The index of the time in the sorted `times` nearest to `t`."""
    i = int(np.searchsorted(times, t))
    if i == len(times) or (i > 0 and t - times[i - 1] <= times[i] - t):
        i -= 1
    return max(i, 0)


def write_annotated_photo(path: str | Path, analysis: Analysis, out: str | Path) -> None:
    """The photo with the skeleton, the back outline and the first fault's cue drawn on it."""
    import cv2

    from .files import write_atomic

    spec = CATALOGUE[analysis.exercise]
    state = analysis.states[0]
    cue = spec.fault(state.faults[0]).cue if state.faults else ("Looks good" if state.scoring else None)
    image = draw(read_image(path), analysis.poses.pose(0), replace(state, cue=cue), spec, back=analysis.outlines[0])
    ok, encoded = cv2.imencode(Path(out).suffix or ".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise FormcheckError(f"cannot encode {out}: use .png or .jpg")
    write_atomic(out, encoded.tobytes())
