"""The sample clips a new user can try at once (`sample_videos/`, each with its licence): the only real clips
the project may redistribute (../shared/videos/README.md)."""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).resolve().parent.parent / "sample_videos"
# exercise -> clip: what "Try the sample" analyses on the review page
SAMPLES = {
    "straight_leg_raise": "legraise_supine_dk2.mp4",  # 3 double-leg raises, knees bent on the way down; MIT
    "single_leg_balance": "balance_dynamic_pose2sim_cam01.mp4",  # a short single-leg stance; BSD-3-Clause
}


def sample_for(exercise: str) -> Path | None:
    """The sample clip for `exercise`, if one is shipped (and present)."""
    name = SAMPLES.get(exercise)
    path = FOLDER / name if name else None
    return path if path is not None and path.exists() else None
