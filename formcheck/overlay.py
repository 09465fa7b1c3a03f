"""Drawing what the checker saw onto a frame: skeleton, the angles that matter, counter or timer, the cue."""

from __future__ import annotations

import math

import cv2
import numpy as np

from .exercises.records import FrameState, tone
from .exercises.spec import ExerciseSpec
from .pose import Pose

BONES = [(11, 12), (11, 23), (12, 24), (23, 24), (11, 13), (13, 15), (12, 14), (14, 16),
         (23, 25), (25, 27), (27, 29), (29, 31), (27, 31), (24, 26), (26, 28), (28, 30), (30, 32), (28, 32)]
GREEN, RED, WHITE, GREY, AMBER = (40, 200, 90), (230, 60, 50), (255, 255, 255), (150, 150, 150), (250, 180, 40)
CYAN = (40, 200, 230)
TONES = {"scoring": GREEN, "fault": RED, "not_scoring": GREY}


def _text(img, text, org, scale, color, thickness=2):
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness + 3, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, thickness, cv2.LINE_AA)


def draw(rgb: np.ndarray, pose: Pose | None, state: FrameState, spec: ExerciseSpec, target: str = "",
         back: np.ndarray | None = None, banner: str | None = None) -> np.ndarray:
    """A copy of the RGB frame with the overlay; colours say scoring (green), fault (red) or not scoring (grey).
    `back` is the measured back outline (pixels), drawn so the rounding judgement can be seen; `banner` is a
    large line across the middle (a live workout's countdown or rest)."""
    img = np.ascontiguousarray(rgb).copy()
    h, w = img.shape[:2]
    unit = max(h, w) / 1000.0
    thick = max(1, round(3 * unit))
    colour = TONES[tone(state.scoring, state.faults)]
    if pose is not None:
        pts = [(int(x * w), int(y * h)) for x, y in pose.image[:, :2]]
        seen = pose.image[:, 3] >= 0.3
        for a, b in BONES:
            if seen[a] and seen[b]:
                cv2.line(img, pts[a], pts[b], colour, thick, cv2.LINE_AA)
        for i in range(11, 33):
            if seen[i]:
                cv2.circle(img, pts[i], thick + 1, WHITE, -1, cv2.LINE_AA)

    if back is not None and len(back) > 1:
        outline = np.round(back).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(img, [outline], False, RED if "back_rounded" in state.faults else CYAN, thick + 1, cv2.LINE_AA)

    scale = 0.9 * unit
    line = round(38 * unit)
    _text(img, spec.title, (line // 2, line), scale, WHITE)
    if spec.kind == "reps":
        counter = f"Reps: {state.rep_count}{target}"
    else:
        counter = f"Hold: {state.hold_s:4.1f} s{target}" if state.holding else f"Hold: --{target}"
    _text(img, counter, (line // 2, 2 * line), scale, WHITE)
    y = 3 * line
    for name, value in state.angles.items():
        if value is not None and math.isfinite(value):
            _text(img, f"{name}: {value:.0f} deg", (line // 2, y), 0.7 * scale, WHITE)
            y += round(0.8 * line)
    if not state.scoring:
        _text(img, "NOT SCORING", (line // 2, h - 2 * line), 1.1 * scale, AMBER, thick)
    if state.cue:
        _text(img, state.cue, (line // 2, h - line // 2), 1.1 * scale, RED if state.faults else AMBER, thick)
    if banner:
        big = 2.2 * scale
        (tw, th), _ = cv2.getTextSize(banner, cv2.FONT_HERSHEY_SIMPLEX, big, 2 * thick)
        _text(img, banner, ((w - tw) // 2, (h + th) // 2), big, WHITE, 2 * thick)
    return img
