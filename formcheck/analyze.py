"""Analysing a recorded video: frames → pose → session → report, and the annotated copy.

The same `Session` the live page drives; here the whole clip is known, so smoothing is zero-phase.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from . import models
from .exercises import CATALOGUE, make_checker
from .overlay import draw
from .pose import PoseEstimator
from .session import Analysis, Session
from .video import VideoInfo, VideoWriter, probe, read_frames

Progress = Callable[[int, int], None]  # (frames done, frames expected)


def analyze_video(path: str | Path, exercise: str, params: dict | None = None,
                  variant: str = models.DEFAULT_VARIANT, progress: Progress | None = None) -> tuple[Analysis, VideoInfo]:
    make_checker(exercise, params)  # a bad exercise or setting fails before any decoding
    info = probe(path)
    session = Session(exercise, info.width, info.height, params)
    with PoseEstimator(variant, masks=CATALOGUE[exercise].needs_mask) as estimator:
        for frame in read_frames(path):
            session.add(estimator.detect(frame.rgb, frame.t_s), frame.t_s)
            if progress:
                progress(frame.index + 1, info.frames)
    return session.finish(), info


def target_text(analysis: Analysis) -> str:
    p = analysis.params
    if "reps" in p:
        return f" / {p['reps']}"
    if "target_hold_s" in p:
        return f" / {p['target_hold_s']:.0f} s"
    return ""


def write_annotated(path: str | Path, analysis: Analysis, out: str | Path, progress: Progress | None = None) -> None:
    """Decode the clip again and draw each frame's state on it (H.264, plays in browsers)."""
    spec = CATALOGUE[analysis.exercise]
    info = probe(path)
    target = target_text(analysis)
    n = len(analysis.states)
    with VideoWriter(out, info.width, info.height, fps=info.fps or 30.0) as writer:
        for frame in read_frames(path):
            i = frame.index
            if i >= n:
                break
            frame_rgb = draw(frame.rgb, analysis.poses.pose(i), analysis.states[i], spec, target, analysis.outlines[i])
            writer.write(frame_rgb, frame.t_s)
            if progress:
                progress(i + 1, n)
