"""The back's outline from the segmentation mask: how far it bows, and how far the head curls over it.

There are no spine landmarks, so a rounded back is read from the silhouette (catalogue, "Back rounding
vs hip hinge"). In a side view, rays are cast from points along the shoulder–hip chord towards the
back; where each ray leaves the body is the back's outline. Two numbers come out of it:
- the bow: the outline's largest deviation from the straight line joining its shoulder-end and hip-end,
  divided by the chord length, a kyphosis-index-like number: ~0 for a flat back, larger as the trunk
  bows. The line through the outline's own ends (not the chord itself) takes out the body's thickness;
  a checker still compares with the person's own upright bow.
- the head curl: the angle between the upper back's line (the outline from mid-trunk up to the shoulder
  joint's level) and the line from the back's top to the ear. With the neck in line with a flat back
  the ear sits a little in front of that line; when the upper back and the head curl down towards the
  legs (a rounded reach, "forcing the head down") it drops far in front of it. The shoulder landmark is
  the shoulder joint, which a reaching arm pulls forward and down: the outline, not the landmark, says
  where the upper back is.

Which side is the back is decided from the facing direction (toes relative to heels, else nose relative
to the shoulders) — not "away from the knees", which is undefined when standing upright. Held objects
(plates, dumbbells) are in the hands, in front: the rays towards the back do not meet them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .kinematics import VISIBLE, facing_sign
from .pose import (L_EAR, L_ELBOW, L_HIP, L_SHOULDER, L_WRIST, NOSE, R_EAR, R_ELBOW, R_HIP, R_SHOULDER,
                   R_WRIST, Pose)

SAMPLES = np.linspace(0.15, 0.85, 15)  # along the chord, clear of the neck and the buttocks
UPPER_BACK = np.linspace(0.6, 1.0, 9)  # the upper half of the trunk, up to the shoulder joint's level
# An arm is about a fifth of the shoulder–hip length thick: an elbow or wrist nearer the back's outline than
# that, either side of it (a hand on the lower back, elbows behind the head), makes the arm part of the
# outline, which then says nothing about the spine.
ARM_CLEARANCE = 0.2
ARM_JOINTS = (L_ELBOW, R_ELBOW, L_WRIST, R_WRIST)


@dataclass(frozen=True)
class BackOutline:
    points: np.ndarray  # (n, 2) pixel positions of the back's surface, hip end first
    deviation: float  # largest bow of the outline from its end-to-end line ÷ chord length (+ = bowed out)
    head_curl_deg: float = math.nan  # the ear's drop in front of the upper back's line (+ = towards the front)


def _leave_points(mask: np.ndarray, hip: np.ndarray, chord: np.ndarray, normal: np.ndarray,
                  ts: np.ndarray) -> np.ndarray | None:
    """Where rays from the chord at fractions `ts`, cast along `normal`, leave the body; None when a ray
    starts off the silhouette (landmarks and mask disagree)."""
    h, w = mask.shape
    reach = np.arange(0, 0.8 * float(np.hypot(*chord)))
    rays = hip[None, None, :] + ts[:, None, None] * chord[None, None, :] + reach[None, :, None] * normal[None, None, :]
    x, y = np.round(rays[..., 0]).astype(int), np.round(rays[..., 1]).astype(int)
    inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
    on_body = np.zeros(x.shape, bool)
    on_body[inside] = mask[y[inside], x[inside]]
    if not on_body[:, 0].all():
        return None
    leave = np.where(on_body.all(axis=1), len(reach) - 1, np.argmin(on_body, axis=1))
    return rays[np.arange(len(ts)), np.maximum(leave - 1, 0)]


def _arm_on_back(image: np.ndarray, hip: np.ndarray, chord: np.ndarray, normal: np.ndarray, ts: np.ndarray,
                 outline: np.ndarray, width: int, height: int) -> bool:
    """Whether a seen elbow or wrist lies within an arm's thickness of the outline, either side of it."""
    length = float(np.hypot(*chord))
    along = chord / length
    out = (outline - hip) @ normal / length  # the outline's distance from the chord, in chord lengths
    for joint in ARM_JOINTS:
        if image[joint, 3] < VISIBLE:
            continue
        offset = image[joint, :2].astype(np.float64) * (width, height) - hip
        t, n = float(offset @ along) / length, float(offset @ normal) / length
        if (ts[0] - ARM_CLEARANCE <= t <= ts[-1] + ARM_CLEARANCE
                and abs(n - float(np.interp(t, ts, out))) < ARM_CLEARANCE):
            return True
    return False


def _head_curl(image: np.ndarray, upper: np.ndarray, chord: np.ndarray, normal: np.ndarray,
               width: int, height: int) -> float:
    """The angle from the upper back's line (`upper`: its outline) to the line from the back's top to the
    ear, in degrees, positive when the ear is on the front side; NaN when the head can't be seen."""
    ear = L_EAR if image[L_EAR, 3] >= image[R_EAR, 3] else R_EAR
    if image[ear, 3] < VISIBLE and image[NOSE, 3] < VISIBLE:
        return math.nan
    along = chord / float(np.hypot(*chord))
    centred = upper - upper.mean(axis=0)
    line = np.linalg.svd(centred)[2][0]
    line = line if line @ along >= 0 else -line  # pointing up the back, towards the head
    to_ear = image[ear, :2].astype(np.float64) * (width, height) - upper[-1]

    def heading(v: np.ndarray) -> float:  # degrees from the chord's direction, + towards the front
        return math.degrees(math.atan2(float(v @ -normal), float(v @ along)))

    return heading(to_ear) - heading(line)


def back_outline(pose: Pose, mask: np.ndarray) -> BackOutline | None:
    """The back's outline, its bow and the head's curl over it, or None when the mask or the landmarks
    don't allow it."""
    if mask is None:
        return None
    mask = np.squeeze(mask) > 0.5
    h, w = mask.shape
    img = pose.image
    near = (L_SHOULDER, L_HIP) if img[L_SHOULDER, 3] + img[L_HIP, 3] >= img[R_SHOULDER, 3] + img[R_HIP, 3] else (
        R_SHOULDER, R_HIP)
    shoulder = img[near[0], :2].astype(np.float64) * (w, h)
    hip = img[near[1], :2].astype(np.float64) * (w, h)
    chord = shoulder - hip
    length = float(np.hypot(*chord))
    if length < 10:
        return None
    unit = chord / length
    # rotate the chord by −90° (facing +x) or +90° (facing −x): that normal points out of the back
    normal = np.array([unit[1], -unit[0]]) * facing_sign(pose.image, w)
    points = _leave_points(mask, hip, chord, normal, SAMPLES)
    if points is None:
        return None  # the chord itself lies off the silhouette: landmarks and mask disagree
    upper = _leave_points(mask, hip, chord, normal, UPPER_BACK)
    reach = np.concatenate([SAMPLES, UPPER_BACK[UPPER_BACK > SAMPLES[-1]]])
    if upper is not None:
        outline = np.concatenate([points, upper[UPPER_BACK > SAMPLES[-1]]])
    else:
        outline, reach = points, SAMPLES
    if _arm_on_back(img, hip, chord, normal, reach, outline, w, h):
        return None  # the outline there is an arm's, not the back's
    ends = points[-1] - points[0]
    span = float(np.hypot(*ends))
    if span < 1:
        return None
    # signed distance of each outline point from the end-to-end line, positive on the back's side
    side = np.array([ends[1], -ends[0]]) / span
    side *= np.sign(np.dot(side, normal)) or 1.0
    bow = (points - points[0]) @ side
    curl = _head_curl(img, upper, chord, normal, w, h) if upper is not None else math.nan
    return BackOutline(points=points, deviation=float(bow.max() / length), head_curl_deg=curl)
