"""Skeleton renders from stored landmarks: what a therapist sees of a session when no video was kept."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from .exercises import CATALOGUE
from .exercises.base import FrameState
from .overlay import draw
from .pose import PoseSeries
from .video import VideoWriter


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
