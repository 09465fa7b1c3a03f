"""Record the how-to demos' landmark series (formcheck/demos/<exercise>.npz) from the project's dev clips.

Derived data only: the pose model's image landmarks over a short span of a clip in ../shared/videos, lightly
smoothed and thinned to ~15 frames a second (world landmarks left out). The clips themselves, and any frame
of them, stay where they are. The page draws each series as a looping stick figure (formcheck/replay.py).

    .venv/bin/python scripts/make_demos.py [EXERCISE ...]     (default: every exercise below)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from formcheck.pose import PoseEstimator, PoseSeries
from formcheck.replay import DEMOS
from formcheck.video import probe, read_frames

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "videos"
FPS = 15.0
# exercise -> (clip, start s, end s): one clean repetition or the way into a hold, by the clips' labels
SPANS = {
    "straight_leg_raise": ("slr_single_supine_side_acapapap.mp4", 13.0, 22.2),  # one slow single-leg raise
    "single_leg_balance": ("treepose_sheknows.mp4", 0.0, 7.2),  # foot up, stand, foot down
    "hamstring_stretch_standing": ("standhamstring_heelfwd_flat_mewfit.mp4", 0.0, 10.9),
    "hamstring_stretch_seated": ("hamstring_longsit_floor_side_acapapap.mp4", 25.0, 33.0),  # into the hold
    "hamstring_stretch_supine": ("supine_hamstring_handsleg_mewfit.mp4", 0.0, 10.9),
    "hip_hinge": ("rdl_side_flat_gazi_TR.mp4", 0.0, 6.0),  # flat-back hinges
    "squat": ("squat_side_kan6.mp4", 0.0, 3.57),
    "lunge": ("lunge_ucf101_g18c05.mp4", 0.0, 5.0),
}


def record(exercise: str) -> int:
    name, start, end = SPANS[exercise]
    clip = VIDEOS / name
    info = probe(clip)
    times, poses = [], []
    with PoseEstimator("full") as estimator:
        for frame in read_frames(clip):
            if frame.t_s > end:
                break
            pose = estimator.detect(frame.rgb, frame.t_s)  # tracked from the clip's start
            if frame.t_s >= start:
                times.append(frame.t_s)
                poses.append(pose)
    series = PoseSeries.from_poses(times, poses, info.width, info.height)
    image = series.image.copy()
    kernel = np.ones(5) / 5  # a centred moving average of x, y: the demo shows the movement, not the jitter
    for j in range(image.shape[1]):
        for c in (0, 1):
            v = image[:, j, c]
            if np.isfinite(v).all() and len(v) > 5:
                image[:, j, c] = np.convolve(np.pad(v, 2, mode="edge"), kernel, mode="valid")
    keep, next_t = [], -1.0
    for i, t in enumerate(series.t_s):
        if t >= next_t:
            keep.append(i)
            next_t = t + 1 / FPS
    thin = PoseSeries(series.t_s[keep] - series.t_s[keep[0]], image[keep], np.zeros_like(series.world[keep]),
                      series.people[keep], series.others_height[keep], series.width, series.height)
    DEMOS.mkdir(exist_ok=True)
    thin.save(DEMOS / f"{exercise}.npz")
    return len(keep)


if __name__ == "__main__":
    for exercise in sys.argv[1:] or SPANS:
        print(exercise, record(exercise), "frames")
