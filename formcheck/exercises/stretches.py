"""The held stretches: hamstrings standing (heel on a step), seated (long-sit), supine (strap), on a chair,
and the calf against a wall (H §1–3, K ex. 3–4).

Each says what "in position" means and which faults a frame shows; the hold timer, grace period and
correct time live in `HoldChecker`. Back rounding is the silhouette rule shared with the hip hinge;
knee thresholds follow the catalogue's calibration (lying, a straight knee reads ~135–141° in 2-D).
"""

from __future__ import annotations

from ..kinematics import Kinematics
from .base import ExerciseSpec, FaultSpec, HoldChecker, finite, rounded_back

SIDES = ("left", "right")
BENT = FaultSpec("knee_bent", "Straighten your knee")
LOCKED = FaultSpec("knee_locked", "Soften your knee, don't lock it", 0.5)
ROUNDED = FaultSpec("back_rounded", "Hinge from your hips, keep your back straight", 0.5)
BOUNCING = FaultSpec("bouncing", "Hold still, don't bounce", 0.0)
HOLD_DEFAULTS = {"sets": 3, "hold_s": 30.0, "grace_s": 2.0, "min_hold_s": 3.0, "back_bow_max": 0.05,
                 "upright_bow_cap": 0.02, "photo_bow_min": 0.075, "photo_neck_max_deg": 168.0,
                 "knee_locked_legs": 0.03}
SIDE_CAMERA = "Side-on, 2–3 m away, at hip height, whole body in view; clothes that show your back's outline."


def _spec(name, title, measures, faults, defaults, source, camera=SIDE_CAMERA, needs_mask=True):
    defaults = dict(defaults)
    position_cue = defaults.pop("position_cue")
    return ExerciseSpec(name=name, title=title, kind="hold", views=("side", "oblique"), camera=camera, measures=measures,
                        faults=faults, defaults={**HOLD_DEFAULTS, **defaults}, source=source, needs_mask=needs_mask,
                        position_cue=position_cue)


def straighter(k: Kinematics) -> str:
    return max(SIDES, key=lambda s: k.knee_deg(s) if finite(k.knee_deg(s)) else -1.0)


def front_leg(k: Kinematics, min_torso: float = 0.15) -> str | None:
    """The leg whose ankle is further forward along the facing direction (side view); None when the
    ankles are too close to tell (side-on, MediaPipe then often swaps left and right)."""
    ahead = (k.ankle_left_x - k.ankle_right_x) * (k.facing if finite(k.facing) else 1.0)
    if not finite(ahead, k.torso_px) or abs(ahead) < min_torso * k.torso_px:
        return None
    return "left" if ahead > 0 else "right"


def hip_flexion(k: Kinematics, side: str) -> float:
    return k.hip_flexion_deg(side)


class _Hamstring(HoldChecker):
    """Shared by the hamstring stretches: the stretched leg's knee, the back, bouncing of the hip angle."""

    # Standing or sitting side-on, MediaPipe often swaps the two legs' labels: the stretched knee is
    # then taken as the straighter one. Lying with one leg up, the raised leg is unambiguous.
    knee_is_the_straighter = True

    def knee_faults(self, k, side: str) -> dict[str, bool]:
        knee = max(k.knee_left_deg, k.knee_right_deg) if self.knee_is_the_straighter else k.knee_deg(side)
        return {"knee_bent": finite(knee) and knee < self.p["knee_bent_deg"],
                "knee_locked": finite(k.knee_hyperext(side)) and k.knee_hyperext(side) > self.p["knee_locked_legs"]}

    def common_faults(self, k, side) -> dict[str, bool]:
        return {**self.knee_faults(k, side), "back_rounded": rounded_back(k.back_bow, self._upright_bow, self.p),
                "bouncing": self.bounce.update(k.t_s, self.bounce_angle(k, side))}

    def bounce_angle(self, k, side: str) -> float:
        """The angle that bobs when someone bounces in this stretch: the trunk's lean (the same whichever
        leg MediaPipe calls left)."""
        return k.trunk_incline_deg

    def angles(self, k):
        side = self.current_side(k)
        return {"hip flexion": hip_flexion(k, side), "knee": k.knee_deg(side)}


class HamstringStanding(_Hamstring):
    spec = _spec(
        "hamstring_stretch_standing", "Standing hamstring stretch (heel on a step)",
        "knee straight but not locked, hip hinge vs back rounding, bouncing",
        (BENT, LOCKED, ROUNDED, BOUNCING),
        {"hold_s": 30.0, "knee_bent_deg": 140.0, "hinge_min_deg": 25.0,
         "position_cue": "Heel on the step, knee straight, hinge forward from your hips"},
        "H §3 (standing hamstring stretch: 20–30 s × 2–3 per leg)")

    def stretched_side(self, k):
        return front_leg(k)

    def in_position(self, k):
        return self.p["hinge_min_deg"] <= k.trunk_incline_deg < 110

    def left_stretch(self, k):
        return k.trunk_incline_deg < self.p["hinge_min_deg"] / 2  # standing tall again

    def frame_faults(self, k):
        return self.common_faults(k, self.current_side(k))


class HamstringSeated(_Hamstring):
    spec = _spec(
        "hamstring_stretch_seated", "Seated hamstring stretch (long-sit)",
        "legs straight on the floor, neutral spine, hinge from the hips, head not forced down",
        (ROUNDED, FaultSpec("head_forced_down", "Don't force your head down", 0.5), BENT, BOUNCING),
        {"knee_bent_deg": 155.0, "head_down_deg": 140.0,
         "position_cue": "Sit tall with your legs straight out in front of you"},
        "H §2 (seated hamstring stretch: 20–30 s × 2–3; neutral spine, hinge from the hips)")

    def stretched_side(self, k):
        return None  # both legs

    def in_position(self, k):
        """Sitting on the floor: hips down near the feet, both knees fairly straight, trunk up from the legs."""
        if not finite(k.torso_px) or k.torso_px <= 0:
            return False
        low_hips = min(abs(k.ankle_left_y - k.hip_mid_y), abs(k.ankle_right_y - k.hip_mid_y)) / k.torso_px < 0.6
        return low_hips and min(k.knee_left_deg, k.knee_right_deg) >= 130 and min(k.hip_left_deg, k.hip_right_deg) <= 125

    def frame_faults(self, k):
        faults = self.common_faults(k, straighter(k))
        faults["knee_bent"] = min(k.knee_left_deg, k.knee_right_deg) < self.p["knee_bent_deg"]
        faults.pop("knee_locked")
        faults["head_forced_down"] = finite(k.neck_deg) and k.neck_deg < self.p["head_down_deg"]
        return faults


class HamstringSupine(_Hamstring):
    spec = _spec(
        "hamstring_stretch_supine", "Supine hamstring stretch (strap)",
        "raised leg: knee straight (not locked), hip flexion reached; the other leg stays down",
        (BENT, LOCKED, FaultSpec("other_leg_lifted", "Keep your other leg on the floor", 0.5), BOUNCING),
        {"knee_bent_deg": 128.0, "raised_min_deg": 45.0, "other_leg_max_deg": 25.0, "lying_min_incline_deg": 55.0,
         "position_cue": "Lie on your back and raise one straight leg with the strap"},
        "H §1 (supine hamstring stretch with a strap: 20–30 s × 2–3 per leg)", needs_mask=False)
    knee_is_the_straighter = False

    def stretched_side(self, k):
        return max(SIDES, key=lambda s: hip_flexion(k, s) if finite(hip_flexion(k, s)) else -1.0)

    def in_position(self, k):
        return (k.trunk_incline_deg >= self.p["lying_min_incline_deg"]
                and hip_flexion(k, self.stretched_side(k)) >= self.p["raised_min_deg"])

    def frame_faults(self, k):
        side = self.stretched_side(k)
        other = "left" if side == "right" else "right"
        return {**self.knee_faults(k, side), "other_leg_lifted": hip_flexion(k, other) > self.p["other_leg_max_deg"],
                "bouncing": self.bounce.update(k.t_s, self.bounce_angle(k, side))}

    def bounce_angle(self, k, side):
        return hip_flexion(k, side)  # lying, the raised leg is what bobs


class HamstringChair(_Hamstring):
    spec = _spec(
        "hamstring_stretch_chair", "Hamstring stretch with the leg on a chair",
        "leg on a chair, knee angle (soft or straight mode), hinge vs back rounding, bouncing",
        (BENT, ROUNDED, BOUNCING),
        {"hold_s": 20.0, "knee_bent_deg": 150.0, "raised_min_torso": 0.5,
         "position_cue": "Heel on the chair, reach towards your toes"},
        "K ex. 3 (hold 20 s, several times a day; a slightly bent knee targets the hamstring, straight also loads the nerve)")

    def stretched_side(self, k):
        """The leg on the chair: its ankle is the higher one."""
        return "left" if k.ankle_left_y < k.ankle_right_y else "right"

    def in_position(self, k):
        if not finite(k.ankle_left_y, k.ankle_right_y, k.torso_px) or k.torso_px <= 0:
            return False
        return abs(k.ankle_left_y - k.ankle_right_y) / k.torso_px >= self.p["raised_min_torso"]

    def frame_faults(self, k):
        faults = self.common_faults(k, self.stretched_side(k))
        faults.pop("knee_locked")
        return faults


class CalfStretch(HoldChecker):
    spec = _spec(
        "calf_stretch", "Calf stretch at a wall",
        "back leg: knee extended, heel on the floor; forward lean; bouncing",
        (FaultSpec("back_knee_bent", "Keep your back knee straight", 0.5),
         FaultSpec("heel_lifted", "Keep your heel down", 0.5), BOUNCING),
        {"hold_s": 20.0, "back_knee_bent_deg": 155.0, "heel_lift_max": 0.35, "stagger_min_torso": 0.3,
         "position_cue": "Hands on the wall, one foot back, heel down"},
        "K ex. 4 (calf stretch: hold 20 s, 3 times a day)", needs_mask=False)

    def stretched_side(self, k):
        """The back leg: the one that is not in front."""
        front = front_leg(k)
        return None if front is None else "left" if front == "right" else "right"

    def in_position(self, k):
        if not finite(k.ankle_left_x, k.ankle_right_x, k.torso_px) or k.torso_px <= 0:
            return False
        return abs(k.ankle_left_x - k.ankle_right_x) / k.torso_px >= self.p["stagger_min_torso"] and k.trunk_incline_deg < 60

    def frame_faults(self, k):
        back = self.current_side(k)
        front = "left" if back == "right" else "right"
        return {"back_knee_bent": finite(k.knee_deg(back)) and k.knee_deg(back) < self.p["back_knee_bent_deg"],
                "heel_lifted": finite(k.heel_lift(back)) and k.heel_lift(back) > self.p["heel_lift_max"],
                "bouncing": self.bounce.update(k.t_s, k.knee_deg(front))}

    def angles(self, k):
        return {"back knee": k.knee_deg(self.current_side(k))}


STRETCHES = (HamstringStanding, HamstringSeated, HamstringSupine, HamstringChair, CalfStretch)
