"""From landmarks to the numbers the checkers reason about: joint angles, view, visibility, framing.

Angles follow the catalogue's conventions: knee 180° = straight; hip angle = shoulder–hip–knee
(180° = trunk and thigh in line); hip flexion = 180° − hip angle. They are 2-D angles in the image
(pixels, so the frame's aspect ratio is respected): the catalogue's thresholds are calibrated on them.
Coaching-grade numbers, never a diagnosis.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .pose import (L_ANKLE, L_EAR, L_FOOT, L_HEEL, L_HIP, L_KNEE, L_SHOULDER, NOSE, R_ANKLE, R_EAR, R_FOOT,
                   R_HEEL, R_HIP, R_KNEE, R_SHOULDER, Pose)

VISIBLE = 0.5  # MediaPipe visibility a landmark needs to be scored (peers use 0.5–0.65)
FRAME_MARGIN = 0.0  # normalised coordinates outside [0, 1] are out of the picture


def angle_deg(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    """The angle at `b` between b→a and b→c, in degrees (NaN if a segment has no length)."""
    u, v = a - b, c - b
    norm = float(np.linalg.norm(u) * np.linalg.norm(v))
    if not norm or not np.isfinite(norm):
        return float("nan")
    return float(np.degrees(np.arccos(np.clip(np.dot(u, v) / norm, -1.0, 1.0))))


def inclination_deg(lower: np.ndarray, upper: np.ndarray) -> float:
    """Angle of the segment lower→upper from the upward vertical (image y points down): 0 = upright, 90 = lying."""
    d = upper - lower
    return float(np.degrees(np.arctan2(abs(d[0]), -d[1])))


SIDE_ON_SPREAD, FRONT_ON_SPREAD = 0.25, 0.45  # shoulder spread ÷ torso below which the view is side-on, above front-on


@dataclass(frozen=True, slots=True)
class Kinematics:
    """One frame's measurements. NaN where the landmarks were not usable."""

    t_s: float
    present: bool = False  # a person was found
    people: int = 0
    others_height: float = 0.0
    knee_left_deg: float = float("nan")
    knee_right_deg: float = float("nan")
    hip_left_deg: float = float("nan")
    hip_right_deg: float = float("nan")
    leg_lift_left_deg: float = float("nan")  # lying: how high the foot is off the floor, as a straight leg's angle
    leg_lift_right_deg: float = float("nan")
    vis_leg_left: float = 0.0  # min visibility of hip, knee, ankle on that side
    vis_leg_right: float = 0.0
    trunk_incline_deg: float = float("nan")  # hip-midpoint → shoulder-midpoint from vertical
    neck_deg: float = float("nan")  # hip–shoulder–ear on the better-seen side (180 = head in line with trunk)
    ankle_lift_left: float = float("nan")  # how far the left foot is above the right, in leg lengths
    ankle_left_x: float = float("nan")  # ankle positions in pixels, for a standing foot that moves
    ankle_left_y: float = float("nan")
    ankle_right_x: float = float("nan")
    ankle_right_y: float = float("nan")
    hip_mid_x: float = float("nan")  # hip midpoint in pixels, for sway
    hip_mid_y: float = float("nan")
    torso_px: float = float("nan")  # shoulder-midpoint to hip-midpoint length in pixels
    shoulder_spread: float = float("nan")  # shoulder-to-shoulder distance ÷ torso length (≈0 side-on, ≈0.7 front-on)
    ankle_left_deg: float = float("nan")  # knee–ankle–toes: smaller = toes pulled up, larger = pointed
    ankle_right_deg: float = float("nan")
    head_pitch_deg: float = float("nan")  # ear → nose above the horizontal: + = chin up, − = chin down
    facing: float = float("nan")  # +1 facing the image's +x, −1 facing −x (from toes vs heels, else the nose)
    heel_lift_left: float = float("nan")  # heel above the toes, in foot lengths (0 = foot flat)
    heel_lift_right: float = float("nan")
    knee_hyperext_left: float = float("nan")  # knee behind the hip–ankle line, in leg lengths (+ = locked back)
    knee_hyperext_right: float = float("nan")
    knee_over_toe_left: float = float("nan")  # knee ahead of the toes (+) in shin lengths, along the facing direction
    knee_over_toe_right: float = float("nan")
    back_bow: float = float("nan")  # the back outline's bow ÷ trunk length, from the segmentation mask (silhouette.py)
    head_curl_deg: float = float("nan")  # the ear's drop in front of the upper back's line (silhouette.py)
    body_in_frame: bool = False  # shoulders, hips, knees and ankles inside the picture
    body_visible: bool = False  # the near side of the body is seen well enough (visibility gate)

    def hip_flexion_deg(self, side: str) -> float:
        return 180.0 - (self.hip_left_deg if side == "left" else self.hip_right_deg)

    def leg_lift_deg(self, side: str) -> float:
        return self.leg_lift_left_deg if side == "left" else self.leg_lift_right_deg

    def knee_deg(self, side: str) -> float:
        return self.knee_left_deg if side == "left" else self.knee_right_deg

    def ankle_deg(self, side: str) -> float:
        return self.ankle_left_deg if side == "left" else self.ankle_right_deg

    def heel_lift(self, side: str) -> float:
        return self.heel_lift_left if side == "left" else self.heel_lift_right

    def knee_hyperext(self, side: str) -> float:
        return self.knee_hyperext_left if side == "left" else self.knee_hyperext_right

    def knee_over_toe(self, side: str) -> float:
        return self.knee_over_toe_left if side == "left" else self.knee_over_toe_right

    def ankle_xy(self, side: str) -> tuple[float, float]:
        return (self.ankle_left_x, self.ankle_left_y) if side == "left" else (self.ankle_right_x, self.ankle_right_y)

    def leg_visibility(self, side: str) -> float:
        return self.vis_leg_left if side == "left" else self.vis_leg_right

    @property
    def view(self) -> str | None:
        """Camera view from the shoulder spread: side-on when the shoulders overlap."""
        if not np.isfinite(self.shoulder_spread):
            return None
        if self.shoulder_spread < SIDE_ON_SPREAD:
            return "side"
        return "front" if self.shoulder_spread > FRONT_ON_SPREAD else "oblique"


SMOOTHED_FIELDS = tuple(
    f.name for f in fields(Kinematics)
    if f.type in ("float",) and f.name not in ("t_s", "others_height")
)


# Side-on, the leg nearer the camera is drawn bigger and its foot lower in the picture: a foot put down beside
# the standing one can read a tenth of a leg below it. A leg the world landmarks put at least NEARER_M nearer is
# measured at the size it is drawn, up to DRAWN_BIGGER_MAX (a camera 1.5 m away, feet 0.5 m apart in depth).
# Legs closer in depth differ in drawn size by less than MediaPipe's own limb-length jitter: one size for both.
NEARER_M = 0.1
DRAWN_BIGGER_MAX = 4 / 3
LEG_POINTS = {"left": (L_HIP, L_KNEE, L_ANKLE, L_HEEL, L_FOOT), "right": (R_HIP, R_KNEE, R_ANKLE, R_HEEL, R_FOOT)}


def _below_hip(points: np.ndarray, side: str) -> tuple[float, float]:
    """How far the foot's lowest point (ankle, heel or toes, y down) is below its own hip, and the leg's
    length (thigh + shin), in the points' unit."""
    hip, knee, ankle, heel, toe = LEG_POINTS[side]
    leg = float(np.linalg.norm(points[hip] - points[knee]) + np.linalg.norm(points[knee] - points[ankle]))
    return float(max(points[ankle][1], points[heel][1], points[toe][1]) - points[hip][1]), leg


def _left_hip_higher(world: np.ndarray) -> float:
    """How much higher the left hip is than the right, in leg lengths: the pelvis tilted by a lifted leg.
    From the world landmarks: in the picture, side-on, the nearer hip is also drawn lower."""
    (_, leg_l), (_, leg_r) = _below_hip(world, "left"), _below_hip(world, "right")
    return float((world[R_HIP][1] - world[L_HIP][1]) / ((leg_l + leg_r) / 2)) if leg_l + leg_r > 0 else 0.0


def _lift(points: np.ndarray, left_hip_higher: float, left_drawn_bigger: float = 1.0) -> float:
    """Left foot's height above the right, in leg lengths: each foot's lowest point, so a heel raised with
    the toes still down is not a foot off the floor, below its own hip and in its own leg's length (the legs'
    mean size, the left drawn `left_drawn_bigger` times the right), plus how much higher the left hip is."""
    (drop_l, leg_l), (drop_r, leg_r) = _below_hip(points, "left"), _below_hip(points, "right")
    size = float(np.sqrt(leg_l * leg_r))
    if not size > 0:
        return float("nan")
    bigger = float(np.sqrt(left_drawn_bigger))
    return drop_r / (size / bigger) - drop_l / (size * bigger) + left_hip_higher


def _left_drawn_bigger(pixels: np.ndarray, world: np.ndarray) -> float:
    """How much bigger the left leg is drawn than the right for being nearer the camera: the ratio of their
    drawn lengths, taken only in the direction the world landmarks' depth says (z: away from the camera).
    A leg pointing at the camera (a knee raised towards it) is drawn short, not far away."""
    nearer = float(world[list(LEG_POINTS["right"]), 2].mean() - world[list(LEG_POINTS["left"]), 2].mean())
    (_, leg_l), (_, leg_r) = _below_hip(pixels, "left"), _below_hip(pixels, "right")
    if abs(nearer) < NEARER_M or not (leg_l > 0 and leg_r > 0):
        return 1.0
    ratio = leg_l / leg_r
    return min(max(ratio, 1.0), DRAWN_BIGGER_MAX) if nearer > 0 else min(max(ratio, 1 / DRAWN_BIGGER_MAX), 1.0)


def _foot_lift_left(pose: Pose, pixels: np.ndarray, vis: np.ndarray) -> float:
    """How far the left foot is above the right, in leg lengths; NaN when it can't be told.

    Two estimates must agree: the picture, each foot at its leg's drawn size, and the 3-D world
    landmarks (fooled when a foot is hidden, or by a camera looking down). The smaller one counts,
    and only when both feet are seen (ankle, heel or toes: side-on, the far ankle hides behind the near
    foot while its heel or toes show): a hidden foot's guessed position wanders.
    """
    if min(max(vis[i] for i in LEG_POINTS[side][2:]) for side in LEG_POINTS) < VISIBLE:
        return float("nan")
    world = pose.world.astype(np.float64)
    tilt = _left_hip_higher(world)
    image, world = _lift(pixels, tilt, _left_drawn_bigger(pixels, world)), _lift(world, tilt)
    if not (np.isfinite(image) and np.isfinite(world)) or image * world <= 0:
        return 0.0
    return float(np.sign(image) * min(abs(image), abs(world)))


def _leg_lift(p: np.ndarray, shoulder_mid: np.ndarray, hip_mid: np.ndarray, hip: int, knee: int, ankle: int) -> float:
    """Lying on the back, side-on: the ankle's height above the trunk's line (the floor the body lies on),
    as the angle a straight leg of this leg's length would make with the floor. A straight leg raised to
    θ reads θ; a bent knee with its foot flat reads ~0, however high the knee (its hip flexion) is."""
    along = hip_mid - shoulder_mid
    length = float(np.linalg.norm(along))
    leg = float(np.linalg.norm(p[hip] - p[knee]) + np.linalg.norm(p[knee] - p[ankle]))
    if length < 1 or leg < 1:
        return float("nan")
    up = np.array([along[1], -along[0]]) / length
    up *= -1.0 if up[1] > 0 else 1.0  # the side of the trunk line that is up in the picture (y points down)
    height = float(np.dot(p[ankle] - hip_mid, up))
    return float(np.degrees(np.arcsin(np.clip(height / leg, -1.0, 1.0))))


def facing_sign(image: np.ndarray, width: int) -> float:
    """+1 when the person faces the image's +x direction, −1 when −x (meaningful side-on)."""
    toes = (image[L_FOOT, 0] + image[R_FOOT, 0]) - (image[L_HEEL, 0] + image[R_HEEL, 0])
    if abs(toes) * width > 4:  # a few pixels of foot length are enough to tell
        return float(np.sign(toes))
    nose = image[NOSE, 0] - (image[L_SHOULDER, 0] + image[R_SHOULDER, 0]) / 2
    return float(np.sign(nose)) or 1.0


def _head_pitch(p: np.ndarray, vis: np.ndarray) -> float:
    """Nose above the ears' midpoint, as an angle from the horizontal (side view): chin up is positive."""
    ear = p[L_EAR] if vis[L_EAR] >= vis[R_EAR] else p[R_EAR]
    d = p[NOSE] - ear
    return float(np.degrees(np.arctan2(-d[1], abs(d[0])))) if np.hypot(*d) >= 1 else float("nan")


def _heel_lift(p: np.ndarray, heel: int, toe: int) -> float:
    foot = float(np.linalg.norm(p[toe] - p[heel]))
    return float((p[toe][1] - p[heel][1]) / foot) if foot >= 1 else float("nan")


def _hyperextension(p: np.ndarray, hip: int, knee: int, ankle: int, facing: float) -> float:
    """How far the knee sits behind the hip–ankle line (against the facing direction), in leg lengths."""
    line = p[ankle] - p[hip]
    length = float(np.linalg.norm(line))
    if length < 1:
        return float("nan")
    offset = p[knee] - p[hip]
    # x-offset of the knee from the line at the knee's height, against the facing direction
    t = float(np.dot(offset, line) / length**2)
    return float(-(offset[0] - t * line[0]) * facing / length)


def _knee_over_toe(p: np.ndarray, knee: int, ankle: int, heel: int, toe: int) -> float:
    """How far the knee is ahead of the toes, along the foot's direction, in shin lengths (side view)."""
    foot = p[toe][0] - p[heel][0]
    shin = float(np.linalg.norm(p[knee] - p[ankle]))
    if abs(foot) < 1 or shin < 1:
        return float("nan")
    return float((p[knee][0] - p[toe][0]) * np.sign(foot) / shin)


def measure(pose: Pose | None, width: int, height: int, t_s: float | None = None,
            back_bow: float = float("nan"), head_curl_deg: float = float("nan")) -> Kinematics:
    """Angles and framing of one pose; a `Kinematics` with present=False when nobody is there.
    `back_bow` and `head_curl_deg` come from the silhouette (silhouette.py), when the exercise asks for masks."""
    if pose is None:
        return Kinematics(t_s=float(t_s if t_s is not None else 0.0))
    scale = np.array([width, height], dtype=np.float64)
    p = pose.image[:, :2].astype(np.float64) * scale
    vis = pose.image[:, 3]

    def leg(hip, knee, ankle, shoulder):
        return angle_deg(p[hip], p[knee], p[ankle]), angle_deg(p[shoulder], p[hip], p[knee]), float(
            min(vis[hip], vis[knee], vis[ankle]))

    facing = facing_sign(pose.image, width)
    knee_l, hip_l, vis_l = leg(L_HIP, L_KNEE, L_ANKLE, L_SHOULDER)
    knee_r, hip_r, vis_r = leg(R_HIP, R_KNEE, R_ANKLE, R_SHOULDER)
    shoulder_mid = (p[L_SHOULDER] + p[R_SHOULDER]) / 2
    hip_mid = (p[L_HIP] + p[R_HIP]) / 2
    torso = float(np.linalg.norm(shoulder_mid - hip_mid))
    near = "left" if vis[L_SHOULDER] + vis[L_HIP] >= vis[R_SHOULDER] + vis[R_HIP] else "right"
    ear, shoulder, hip = (L_EAR, L_SHOULDER, L_HIP) if near == "left" else (R_EAR, R_SHOULDER, R_HIP)

    body = [L_SHOULDER, R_SHOULDER, L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE]
    xy = pose.image[body, :2]
    in_frame = bool(np.all((xy >= -FRAME_MARGIN) & (xy <= 1 + FRAME_MARGIN)))
    # Side-on, the far limbs are hidden: ask that the better-seen of each left/right pair is visible.
    pairs = [(L_SHOULDER, R_SHOULDER), (L_HIP, R_HIP), (L_KNEE, R_KNEE), (L_ANKLE, R_ANKLE)]
    visible = bool(all(max(vis[a], vis[b]) >= VISIBLE for a, b in pairs))

    return Kinematics(
        t_s=float(pose.t_s if t_s is None else t_s),
        present=True,
        people=pose.people,
        others_height=pose.others_height,
        knee_left_deg=knee_l, knee_right_deg=knee_r, hip_left_deg=hip_l, hip_right_deg=hip_r,
        leg_lift_left_deg=_leg_lift(p, shoulder_mid, hip_mid, L_HIP, L_KNEE, L_ANKLE),
        leg_lift_right_deg=_leg_lift(p, shoulder_mid, hip_mid, R_HIP, R_KNEE, R_ANKLE),
        vis_leg_left=vis_l, vis_leg_right=vis_r,
        trunk_incline_deg=inclination_deg(hip_mid, shoulder_mid),
        neck_deg=(angle_deg(p[hip], p[shoulder], p[ear]) if vis[ear] >= VISIBLE or vis[NOSE] >= VISIBLE
                  else float("nan")),
        ankle_lift_left=_foot_lift_left(pose, p, vis),
        ankle_left_x=float(p[L_ANKLE][0]), ankle_left_y=float(p[L_ANKLE][1]),
        ankle_right_x=float(p[R_ANKLE][0]), ankle_right_y=float(p[R_ANKLE][1]),
        hip_mid_x=float(hip_mid[0]), hip_mid_y=float(hip_mid[1]), torso_px=torso,
        shoulder_spread=float(np.linalg.norm(p[L_SHOULDER] - p[R_SHOULDER]) / torso) if torso > 0 else float("nan"),
        ankle_left_deg=angle_deg(p[L_KNEE], p[L_ANKLE], p[L_FOOT]),
        ankle_right_deg=angle_deg(p[R_KNEE], p[R_ANKLE], p[R_FOOT]),
        head_pitch_deg=_head_pitch(p, vis),
        facing=facing,
        heel_lift_left=_heel_lift(p, L_HEEL, L_FOOT), heel_lift_right=_heel_lift(p, R_HEEL, R_FOOT),
        knee_hyperext_left=_hyperextension(p, L_HIP, L_KNEE, L_ANKLE, facing),
        knee_hyperext_right=_hyperextension(p, R_HIP, R_KNEE, R_ANKLE, facing),
        knee_over_toe_left=_knee_over_toe(p, L_KNEE, L_ANKLE, L_HEEL, L_FOOT),
        knee_over_toe_right=_knee_over_toe(p, R_KNEE, R_ANKLE, R_HEEL, R_FOOT),
        back_bow=back_bow,
        head_curl_deg=head_curl_deg,
        body_in_frame=in_frame,
        body_visible=visible,
    )
