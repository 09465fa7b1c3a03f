"""The back's outline from the segmentation mask: how far it bows away from a straight line.

There are no spine landmarks, so a rounded back is read from the silhouette (catalogue, "Back rounding
vs hip hinge"). In a side view, rays are cast from points along the shoulder–hip chord towards the
back; where each ray leaves the body is the back's outline. The outline's largest deviation from the
straight line joining its shoulder-end and hip-end, divided by the chord length, is a kyphosis-index-like
number: ~0 for a flat back, larger as the back bows. The line through the outline's own ends (not the
chord itself) takes out the body's thickness; a checker still compares with the start of the movement.

Which side is the back is decided from the facing direction (toes relative to heels, else nose relative
to the shoulders) — not "away from the knees", which is undefined when standing upright. Held objects
(plates, dumbbells) are in the hands, in front: the rays towards the back do not meet them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .kinematics import facing_sign
from .pose import L_HIP, L_SHOULDER, R_HIP, R_SHOULDER, Pose

SAMPLES = np.linspace(0.15, 0.85, 15)  # along the chord, clear of the neck and the buttocks


@dataclass(frozen=True)
class BackOutline:
    points: np.ndarray  # (n, 2) pixel positions of the back's surface, hip end first
    deviation: float  # largest bow of the outline from its end-to-end line ÷ chord length (+ = bowed out)


def back_outline(pose: Pose, mask: np.ndarray) -> BackOutline | None:
    """The back's outline and its bow, or None when the mask or the landmarks don't allow it."""
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
    reach = np.arange(0, 0.8 * length)
    points = []
    for t in SAMPLES:
        ray = hip + t * chord + reach[:, None] * normal
        x, y = np.round(ray[:, 0]).astype(int), np.round(ray[:, 1]).astype(int)
        inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
        on_body = np.zeros(len(reach), bool)
        on_body[inside] = mask[y[inside], x[inside]]
        if not on_body[0]:
            return None  # the chord itself lies off the silhouette: landmarks and mask disagree
        leave = int(np.argmin(on_body)) if not on_body.all() else len(reach) - 1
        points.append(ray[max(leave - 1, 0)])
    points = np.array(points)
    ends = points[-1] - points[0]
    span = float(np.hypot(*ends))
    if span < 1:
        return None
    # signed distance of each outline point from the end-to-end line, positive on the back's side
    side = np.array([ends[1], -ends[0]]) / span
    side *= np.sign(np.dot(side, normal)) or 1.0
    bow = (points - points[0]) @ side
    return BackOutline(points=points, deviation=float(bow.max() / length))
