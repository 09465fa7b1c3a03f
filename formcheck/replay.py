"""Skeleton renders from stored landmarks: what a therapist sees of a session when no video was kept, and the
looping demo of each exercise shown before a live set (drawn from landmarks recorded from the project's dev
clips, `formcheck/demos/`; never frames of a clip)."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np

from .exercises import CATALOGUE
from .exercises.records import FrameState
from .files import scratch_dir
from .overlay import BONES, draw
from .pose import PoseSeries
from .video import VideoWriter

DEMOS = Path(__file__).resolve().parent / "demos"


def load_series(blob: bytes) -> PoseSeries:
    return PoseSeries.load(io.BytesIO(blob))


def skeleton_at(series: PoseSeries, exercise: str, t_s: float, caption: str = "", max_side: int = 480) -> np.ndarray:
    """The skeleton of the frame nearest to `t_s` on a dark background, with a caption as the cue."""
    i = int(np.argmin(np.abs(series.t_s - t_s)))
    scale = max_side / max(series.width, series.height)
    w, h = int(series.width * scale) // 2 * 2, int(series.height * scale) // 2 * 2
    state = FrameState(float(series.t_s[i]), scoring=True, cue=caption or None, faults=("x",) if caption else ())
    return draw(np.full((h, w, 3), 24, np.uint8), series.pose(i), state, CATALOGUE[exercise])


def skeleton_video(series: PoseSeries, exercise: str, out: str | Path, max_side: int = 480) -> None:
    """The whole session as an H.264 stick-figure video (plays in the browser)."""
    first = skeleton_at(series, exercise, float(series.t_s[0]), max_side=max_side)
    with VideoWriter(out, first.shape[1], first.shape[0]) as writer:
        for t in series.t_s:
            writer.write(skeleton_at(series, exercise, float(t), max_side=max_side), float(t))


def skeleton_video_bytes(series: PoseSeries, exercise: str, max_side: int = 480) -> bytes:
    """`skeleton_video` as the bytes of the .mp4 (written in a scratch folder, then read)."""
    with scratch_dir() as tmp:
        skeleton_video(series, exercise, Path(tmp) / "replay.mp4", max_side)
        return (Path(tmp) / "replay.mp4").read_bytes()


def png(rgb: np.ndarray) -> bytes:
    return cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()


def fault_moments(series: PoseSeries, exercise: str, faults: list[dict]) -> list[tuple[str, bytes]]:
    """(caption, PNG) of each fault's first moment (the report's fault entries) as a skeleton render."""
    return [(f"{f['start_s']:.1f} s: {f['code']}", png(skeleton_at(series, exercise, f["start_s"], f["message"])))
            for f in faults]


# --- the how-to demos --------------------------------------------------------------------------------


def demo_series(exercise: str) -> PoseSeries | None:
    """The landmark series recorded for `exercise`'s demo (scripts/make_demos.py), or None if it has none."""
    path = DEMOS / f"{exercise}.npz"
    return PoseSeries.load(path) if path.exists() else None


def demo_frames(series: PoseSeries, size: int = 320, margin: float = 0.1) -> list[np.ndarray]:
    """The series as stick figures on a plain background, the framing fixed on where the body went over the
    whole series (so the figure fills the picture and the camera seems still)."""
    xy = series.image[:, :, :2] * np.array([series.width, series.height])
    seen = series.image[:, :, 3] >= 0.3
    pts = xy[seen]
    if not len(pts):
        return []
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre, extent = (lo + hi) / 2, (hi - lo).max() * (1 + 2 * margin)
    scale = size / max(extent, 1.0)
    line = (30, 110, 200)
    frames = []
    for i in range(len(series)):
        img = np.full((size, size, 3), (246, 244, 240), np.uint8)
        if series.people[i]:
            q = (xy[i] - centre) * scale + size / 2
            p = [(round(x), round(y)) for x, y in q]
            ok = seen[i]
            for a, b in BONES:
                if ok[a] and ok[b]:
                    cv2.line(img, p[a], p[b], line, 5, cv2.LINE_AA)
            for j in range(11, 33):
                if ok[j]:
                    cv2.circle(img, p[j], 4, (40, 40, 40), -1, cv2.LINE_AA)
            if ok[0] and ok[11] and ok[12]:  # the head around the ears (or the nose), joined to the shoulders
                ears = [q[j] for j in (7, 8) if ok[j]]
                head = np.mean(ears, axis=0) if ears else q[0]
                r = int(np.clip(1.4 * np.linalg.norm(q[0] - head), 7, size / 12)) if ears else 9
                neck = (q[11] + q[12]) / 2
                gap = np.linalg.norm(head - neck)
                if gap > r:
                    end = head + (neck - head) * r / gap
                    cv2.line(img, tuple(int(v) for v in neck), tuple(int(v) for v in end), line, 5, cv2.LINE_AA)
                cv2.circle(img, tuple(int(v) for v in head), r, line, 4, cv2.LINE_AA)
        frames.append(img)
    return frames


def demo_gif(exercise: str, size: int = 320) -> bytes | None:
    """`exercise`'s demo as a looping animated GIF (an image: it plays by itself, with no controls, on every
    browser, phones included), or None if no series was recorded for it. ~1 s to draw, ~0.2-0.3 MB."""
    from PIL import Image

    series = demo_series(exercise)
    if series is None:
        return None
    frames = demo_frames(series, size)
    # one palette for every frame (a few colours: the background, the figure, their blend at the edges)
    palette = Image.fromarray(np.vstack(frames[::max(1, len(frames) // 8)])).quantize(16, Image.Quantize.MEDIANCUT)
    images = [Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    step_ms = round(1000 * float(series.t_s[-1] - series.t_s[0]) / max(len(series) - 1, 1))
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=step_ms, loop=0)
    return out.getvalue()
