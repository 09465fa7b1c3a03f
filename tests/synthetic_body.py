"""A side-on stick body drawn from simple kinematics, with its silhouette, for exercises that have no real
video here (the seated long-sit). A hinge rotates pelvis and trunk together (the spine stays a straight
line); rounding keeps the pelvis back and bends the spine between hip and shoulder."""

from __future__ import annotations

import math

import cv2
import numpy as np

from formcheck.pose import (L_ANKLE, L_EAR, L_FOOT, L_HEEL, L_HIP, L_KNEE, L_SHOULDER, N_LANDMARKS, NOSE, R_ANKLE,
                            R_EAR, R_FOOT, R_HEEL, R_HIP, R_KNEE, R_SHOULDER, Pose)

W, H = 640, 480
TRUNK, DEPTH = 150.0, 44  # spine length and body thickness in pixels


def seated(t: float, lean_deg: float, curl: float) -> Pose:
    """Sitting on the floor facing +x, legs straight out. `lean_deg` tilts the trunk forward from upright;
    `curl` (0…1) is how much of that lean comes from bending the spine instead of the hips."""
    hip = np.array([220.0, 380.0])
    pelvis = math.radians(lean_deg * (1 - curl))
    total = math.radians(lean_deg)
    spine = [hip]
    for i in range(1, 9):  # the spine's tilt grows from the pelvis's to the full lean along its length
        tilt = pelvis + (total - pelvis) * (i / 8) * 2 if curl else total
        tilt = min(tilt, pelvis + 2 * (total - pelvis)) if curl else tilt
        step = TRUNK / 8
        spine.append(spine[-1] + step * np.array([math.sin(tilt), -math.cos(tilt)]))
    shoulder = spine[-1]
    head_dir = np.array([math.sin(total + 0.3 * curl), -math.cos(total + 0.3 * curl)])
    ear = shoulder + 38 * head_dir
    nose = ear + 14 * np.array([head_dir[1] * -1, head_dir[0]]) * -1 + np.array([8.0, 4.0])
    knee, ankle = hip + (120, 0), hip + (240, 0)
    heel, toe = ankle + (-6, 10), ankle + (22, -14)

    mask = np.zeros((H, W), np.uint8)
    cv2.polylines(mask, [np.round(np.array(spine)).astype(np.int32)], False, 255, DEPTH)
    cv2.line(mask, tuple(int(v) for v in hip), tuple(int(v) for v in ankle), 255, 30)
    cv2.circle(mask, tuple(int(v) for v in ear), 26, 255, -1)

    img = np.zeros((N_LANDMARKS, 5), np.float32)
    img[:, 3:] = 0.99
    points = {L_SHOULDER: shoulder, R_SHOULDER: shoulder + (0, 1), L_HIP: hip, R_HIP: hip + (0, 1), L_KNEE: knee,
              R_KNEE: knee + (0, 1), L_ANKLE: ankle, R_ANKLE: ankle + (0, 1), L_HEEL: heel, R_HEEL: heel,
              L_FOOT: toe, R_FOOT: toe, L_EAR: ear, R_EAR: ear, NOSE: nose}
    for i, (x, y) in points.items():
        img[i, :2] = (x / W, y / H)
    return Pose(t, img, np.zeros((N_LANDMARKS, 3), np.float32), 1, mask=(mask > 0).astype(np.float32))
