"""Shared test helpers: where the real clips are, the fixtures, and synthetic kinematics."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from formcheck.kinematics import Kinematics

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
VIDEOS = SHARED / "videos"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def clip(name: str) -> Path:
    path = VIDEOS / name
    if not path.exists():  # the brief promises ../shared beside the repo: a missing clip is a failure, not a skip
        pytest.fail(f"real clip {path} is missing: ../shared/videos must sit beside the repository")
    return path


def lying(t: float, hip_flexion: float, knee: float = 170.0, **extra) -> Kinematics:
    """A side-on, lying, fully visible frame with both legs at the given hip flexion."""
    fields = dict(t_s=t, present=True, people=1, knee_left_deg=knee, knee_right_deg=knee,
                  hip_left_deg=180 - hip_flexion, hip_right_deg=180 - hip_flexion, vis_leg_left=0.9,
                  vis_leg_right=0.9, trunk_incline_deg=88.0, shoulder_spread=0.1, body_in_frame=True,
                  body_visible=True, torso_px=200.0, hip_mid_x=300.0, hip_mid_y=300.0)
    fields.update(extra)
    return Kinematics(**fields)


def standing(t: float, lift: float, **extra) -> Kinematics:
    """A front-on, standing, fully visible frame; `lift` = left foot above the right, in leg lengths."""
    fields = dict(t_s=t, present=True, people=1, knee_left_deg=175.0, knee_right_deg=175.0, hip_left_deg=175.0,
                  hip_right_deg=175.0, vis_leg_left=0.9, vis_leg_right=0.9, trunk_incline_deg=3.0,
                  shoulder_spread=0.7, body_in_frame=True, body_visible=True, torso_px=200.0, hip_mid_x=300.0,
                  hip_mid_y=300.0, ankle_lift_left=lift, ankle_left_x=280.0, ankle_left_y=600.0,
                  ankle_right_x=320.0, ankle_right_y=600.0)
    fields.update(extra)
    return Kinematics(**fields)


def leg_raise_flexion(t: float, period: float = 3.0, top: float = 80.0, rest: float = 5.0) -> float:
    """Smooth lift-and-lower cycles: rest → top → rest every `period` seconds."""
    return rest + (top - rest) * 0.5 * (1 - math.cos(2 * math.pi * t / period))
