"""The held stretches: hamstrings standing (heel on a step), seated (long-sit), supine (strap), on a chair,
and the calf against a wall (H §1–3, K ex. 3–4).

Each says what "in position" means and which faults a frame shows; the hold timer, grace period and
correct time live in `HoldChecker`. Back rounding is the rule shared with the hip hinge (rules.py): the
silhouette bowing beyond the person's upright bow, or the head and upper back curling over. Knee
thresholds follow the catalogue's calibration (lying, a straight knee reads ~135–141° in 2-D).
"""

from __future__ import annotations

import math
import statistics

from ..kinematics import Kinematics
from ..legs import SIDES, Side, other
from .checker import HoldChecker
from .machines import BounceDetector
from .rules import finite, rounded_back
from .spec import ExerciseSpec, FaultSpec

BENT = FaultSpec("knee_bent", "Straighten your knee")
LOCKED = FaultSpec("knee_locked", "Soften your knee, don't lock it", 0.5)
ROUNDED = FaultSpec("back_rounded", "Hinge from your hips, keep your back straight", 0.5)
# A bounce once on stays on while reversals keep coming (a bounce burst at 1–2 Hz flags for a second or more);
# three slow turns that only just fit the window flag for a moment: noise, not bouncing.
BOUNCING = FaultSpec("bouncing", "Hold still, don't bounce", 0.5)
HOLD_DEFAULTS = {"sets": 3, "hold_s": 30.0, "grace_s": 2.0, "min_hold_s": 3.0, "back_bow_max": 0.05,
                 "upright_bow_cap": 0.02, "photo_bow_min": 0.075, "photo_neck_max_deg": 168.0,
                 "head_curl_max_deg": 45.0, "curl_lean_min_deg": 15.0, "knee_locked_legs": 0.03,
                 "bounce_deg": 3.0, "bounce_window_s": 2.0, "bounce_reversals": 3}
SIDE_CAMERA = "Side-on, 2–3 m away, at hip height, whole body in view; clothes that show your back's outline."
PERPENDICULAR_DEG = 90.0  # a trunk at right angles to the thigh: sitting tall; a smaller hip angle leans forward


HAMSTRING_STRETCH_STANDING_STEPS = (
    'Warm up 5–10 minutes first (H, principles).',
    'Heel on a low step, that leg straight but not locked; standing knee slightly bent (H §3).',
    'Keep your back straight and hinge forward from your hips; breathe out into the stretch (H §3, principles).',
    'Hold 20–30 s, 2–3 times per leg; no bouncing, never into sharp pain (H §3, precautions).',
)
HAMSTRING_STRETCH_SEATED_STEPS = (
    'Warm up 5–10 minutes first (H, principles).',
    'Sit with your legs straight out, toes up (the other knee may be bent) (H §2).',
    "Back straight, hinge forward from your hips towards your toes; don't force your head down (H §2).",
    'Hold 20–30 s, 2–3 times; breathe out into the stretch, no bouncing (H §2, principles).',
)
HAMSTRING_STRETCH_SUPINE_STEPS = (
    'Lie on your back, both knees bent, feet flat; a strap or towel round one foot (H §1).',
    'Straighten that leg towards the ceiling without locking the knee; pull gently (H §1).',
    'The other foot stays on the floor. Hold 20–30 s, 2–3 times per leg (H §1).',
)
HAMSTRING_STRETCH_CHAIR_STEPS = (
    'Put your painful leg on a chair (K ex. 3).',
    'Reach towards your toes while pulling your toes towards you, back straight (K ex. 3).',
    'Hold 20 s, several times a day; knee slightly bent stretches the hamstring, straight also the nerve (K ex. 3).',
)
CALF_STRETCH_STEPS = (
    'Hands on a wall, your painful leg behind you, knee straight, heel down (K ex. 4).',
    'Move your weight forward until you feel the stretch in your calf (K ex. 4).',
    'Hold 20 s, 3 times a day (K ex. 4).',
)

def _spec(name, title, measures, faults, defaults, source, steps, camera=SIDE_CAMERA, needs_mask=True):
    defaults = dict(defaults)
    position_cue = defaults.pop("position_cue")
    return ExerciseSpec(name=name, title=title, kind="hold", views=("side", "oblique"), camera=camera,
                        measures=measures, faults=faults, defaults={**HOLD_DEFAULTS, **defaults}, source=source,
                        needs_mask=needs_mask, position_cue=position_cue, steps=steps)


def straighter(k: Kinematics) -> Side:
    return max(SIDES, key=lambda s: k.knee_deg(s) if finite(k.knee_deg(s)) else -1.0)


def front_leg(k: Kinematics, min_torso: float) -> Side | None:
    """The leg whose ankle is further forward along the facing direction (side view); None when the
    ankles are less than `min_torso` trunk lengths apart (too close to tell)."""
    ahead = (k.ankle_left_x - k.ankle_right_x) * (k.facing if finite(k.facing) else 1.0)
    if not finite(ahead, k.torso_px) or abs(ahead) < min_torso * k.torso_px:
        return None
    return "left" if ahead > 0 else "right"


def hip_flexion(k: Kinematics, side: Side) -> float:
    return k.hip_flexion_deg(side)


def below_hips(k: Kinematics, side: Side) -> float:
    """How far the ankle is below the hips, in trunk lengths (negative: above them)."""
    ankle_y = k.ankle_left_y if side == "left" else k.ankle_right_y
    return ((ankle_y - k.hip_mid_y) / k.torso_px if finite(ankle_y, k.hip_mid_y, k.torso_px) and k.torso_px > 0
            else math.nan)


class _Stretch(HoldChecker):
    """What every held stretch shares: bouncing judged on the angle that bobs, with the spec's thresholds."""

    def __init__(self, params=None):
        super().__init__(params)
        self.bounce = BounceDetector(self.p["bounce_deg"], self.p["bounce_window_s"], self.p["bounce_reversals"])


class _Hamstring(_Stretch):
    """Shared by the hamstring stretches: the stretched leg's knee, the back, bouncing of the trunk's lean."""

    def knee_faults(self, k, side: Side) -> dict[str, bool]:
        return {"knee_bent": finite(k.knee_deg(side)) and k.knee_deg(side) < self.p["knee_bent_deg"],
                "knee_locked": finite(k.knee_hyperext(side)) and k.knee_hyperext(side) > self.p["knee_locked_legs"]}

    def common_faults(self, k, side: Side) -> dict[str, bool]:
        return {**self.knee_faults(k, side), "back_rounded": rounded_back(k, self._upright_bow, self.p),
                "bouncing": self.bounce.update(k.t_s, self.bounce_angle(k, side))}

    def bounce_angle(self, k, side: Side) -> float:
        """The angle that bobs when someone bounces in this stretch: the trunk's lean (the same whichever
        leg is which)."""
        return k.trunk_incline_deg

    def angles(self, k):
        side = self.current_side(k)
        return {"hip flexion": hip_flexion(k, side), "knee": k.knee_deg(side)}


class HamstringStanding(_Hamstring):
    spec = _spec(
        "hamstring_stretch_standing", "Standing hamstring stretch (heel on a step)",
        "knee straight but not locked, hip hinge vs back rounding, bouncing",
        (BENT, LOCKED, ROUNDED, BOUNCING),
        {"hold_s": 30.0, "knee_bent_deg": 140.0, "hinge_min_deg": 25.0, "standing_drop_torso": 1.0,
         "heel_ahead_torso": 0.15,
         "step_min_torso": 0.12,  # the front ankle this far above the standing one: on a step (~6 cm and up)
         "position_cue": "Heel on the step, knee straight, hinge forward from your hips"},
        "H §3 (standing hamstring stretch: 20–30 s × 2–3 per leg)",
        HAMSTRING_STRETCH_STANDING_STEPS)

    def __init__(self, params=None):
        super().__init__(params)
        self._heel_rise: list[tuple[float, float]] = []  # (t, front ankle's height over the standing one ÷ trunk)

    def stretched_side(self, k):
        return front_leg(k, self.p["heel_ahead_torso"])

    def hold_metrics(self, hold):
        """H §3 puts the heel on a slightly raised surface such as a step: whether it was (`variant` "step"),
        or the heel stayed on the floor ("floor", said, not faulted), from the ankles' heights over the hold."""
        rises = [r for t, r in self._heel_rise if hold.start_s <= t <= hold.end_s]
        self._heel_rise = [(t, r) for t, r in self._heel_rise if t > hold.end_s]
        if not rises:
            return {}
        rise = statistics.median(rises)
        return {"heel_rise_torso": round(rise, 3),
                "variant": "step" if rise >= self.p["step_min_torso"] else "floor"}

    def in_position(self, k):
        """Standing (the lower foot a trunk length or more below the hips; sitting or lying it is level with
        them) and hinged forward, however deep the fold."""
        standing_foot = max((below_hips(k, s) for s in SIDES), key=lambda v: v if finite(v) else -math.inf)
        return (finite(standing_foot) and standing_foot >= self.p["standing_drop_torso"]
                and k.trunk_incline_deg >= self.p["hinge_min_deg"])

    def left_stretch(self, k):
        return k.trunk_incline_deg < self.p["hinge_min_deg"] / 2  # standing tall again

    def frame_faults(self, k):
        front = self.stretched_side(k)
        if front is not None:
            rise = below_hips(k, other(front)) - below_hips(k, front)
            if finite(rise):
                self._heel_rise.append((k.t_s, rise))
        return self.common_faults(k, straighter(k))  # the standing knee keeps a slight bend (H §3)


class HamstringSeated(_Hamstring):
    """The long-sit, on the floor or on a chair's edge: the stretched leg is the straight one reaching
    forward (the other knee bent up is an accepted variant), the trunk leaning forward from the hips.

    Sitting tall with the leg straight keeps the hamstring at its stretch (90° of hip flexion with the knee
    straight), so a hold goes on while the person sits tall; it ends once they lean back (as far as a hold's
    forward lean) or leave the long-sit for longer than the grace period. So that a passing reach does not
    open a hold that sitting tall would then carry on, a hold starts once the lean has been kept in good form
    for `settle_s`, or in any form for `min_hold_s`; it is dated from the start of the lean."""

    spec = _spec(
        "hamstring_stretch_seated", "Seated hamstring stretch (long-sit)",
        "the straight leg reaching forward (the other knee may be bent), neutral spine, hinge from the hips, "
        "head not forced down",
        (ROUNDED, FaultSpec("head_forced_down", "Don't force your head down", 0.5), BENT, BOUNCING),
        {"knee_bent_deg": 155.0, "head_down_deg": 140.0, "position_knee_deg": 130.0, "leg_forward_max_deg": 45.0,
         "hinge_min_deg": 15.0, "settle_s": 0.5,
         "position_cue": "Sit tall with your legs straight out in front of you"},
        "H §2 (seated hamstring stretch: 20–30 s × 2–3; neutral spine, hinge from the hips)",
        HAMSTRING_STRETCH_SEATED_STEPS)

    def __init__(self, params=None):
        super().__init__(params)
        self._leaning_since: float | None = None  # leaning forward in the long-sit since, with no hold yet
        self._good_since: float | None = None  # ... and in good form since

    def stretched_side(self, k):
        return straighter(k)

    def long_sit(self, k, side: Side) -> bool:
        """Sitting with the stretched leg straight and reaching forward: the hip→ankle line nearer the
        horizontal than the vertical (along the floor, or down to it from a chair's edge; standing, it hangs)."""
        ankle_x = k.ankle_left_x if side == "left" else k.ankle_right_x
        if not finite(ankle_x, k.hip_mid_x, below_hips(k, side), k.knee_deg(side)):
            return False
        forward = abs(ankle_x - k.hip_mid_x) / k.torso_px
        return (k.knee_deg(side) >= self.p["position_knee_deg"]
                and math.degrees(math.atan2(abs(below_hips(k, side)), forward)) <= self.p["leg_forward_max_deg"])

    def lean(self, k, side: Side) -> float:
        """The trunk's lean from vertical, negative when it leans back (the hip angle opens past a right angle).
        Near upright the sign is unreliable (the hip angle pairs the leg with a shoulder MediaPipe may misplace),
        so leaning back counts only from the lean that starts a hold."""
        hip_angle = k.hip_left_deg if side == "left" else k.hip_right_deg
        if not finite(k.trunk_incline_deg, hip_angle):
            return math.nan
        return k.trunk_incline_deg if hip_angle < PERPENDICULAR_DEG else -k.trunk_incline_deg

    def reaching(self, k) -> bool:
        """In the long-sit, leaning forward from the hips (the stretch itself, held or not)."""
        side = straighter(k)
        return self.long_sit(k, side) and self.lean(k, side) >= self.p["hinge_min_deg"]

    def in_position(self, k):
        side = straighter(k)
        if self._hold is not None:  # holding: sitting tall still stretches; leaning back is a slip, then the end
            return self.long_sit(k, side) and self.lean(k, side) > -self.p["hinge_min_deg"]
        if not self.reaching(k):
            self._leaning_since = self._good_since = None
            return False
        self._leaning_since = k.t_s if self._leaning_since is None else self._leaning_since
        return True

    def starts_hold(self, k, faults):
        if any(on for code, on in faults.items() if code != "bouncing"):
            self._good_since = None
        else:
            self._good_since = k.t_s if self._good_since is None else self._good_since
        return (self._good_since is not None and k.t_s - self._good_since >= self.p["settle_s"]
                or k.t_s - self._leaning_since >= self.p["min_hold_s"])

    def score(self, k):
        starting = self._hold is None
        state = super().score(k)
        if starting and self._hold is not None:
            self._hold.start_s = self._leaning_since  # the hold began with the lean
            self._leaning_since = self._good_since = None
        return state

    def interrupt(self, t_s):
        super().interrupt(t_s)
        self._leaning_since = self._good_since = None  # what came before the gap no longer counts

    def frame_faults(self, k):
        side = straighter(k)
        faults = self.common_faults(k, side)
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
        "H §1 (supine hamstring stretch with a strap: 20–30 s × 2–3 per leg)", HAMSTRING_STRETCH_SUPINE_STEPS,
        needs_mask=False)

    def stretched_side(self, k):
        """The raised leg: the foot higher off the floor (the other knee bent with its foot flat, as H §1 starts,
        has a flexed hip but a foot on the floor)."""
        return max(SIDES, key=lambda s: k.leg_lift_deg(s) if finite(k.leg_lift_deg(s)) else -90.0)

    def in_position(self, k):
        return (k.trunk_incline_deg >= self.p["lying_min_incline_deg"]
                and hip_flexion(k, self.stretched_side(k)) >= self.p["raised_min_deg"])

    def frame_faults(self, k):
        side = self.stretched_side(k)
        return {**self.knee_faults(k, side),
                # the other foot off the floor, bent or straight (H §1: it may rest bent with its foot flat)
                "other_leg_lifted": k.leg_lift_deg(other(side)) > self.p["other_leg_max_deg"],
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
        "K ex. 3 (hold 20 s, several times a day; a slightly bent knee targets the hamstring, "
        "straight also loads the nerve)",
        HAMSTRING_STRETCH_CHAIR_STEPS)

    def stretched_side(self, k):
        """The leg on the chair: its ankle is the higher one."""
        return "left" if k.ankle_left_y < k.ankle_right_y else "right"

    def in_position(self, k):
        if not finite(k.ankle_left_y, k.ankle_right_y, k.torso_px) or k.torso_px <= 0:
            return False
        return abs(k.ankle_left_y - k.ankle_right_y) / k.torso_px >= self.p["raised_min_torso"]

    def frame_faults(self, k):
        faults = self.common_faults(k, self.stretched_side(k))  # the knee on the chair, whichever is straighter
        faults.pop("knee_locked")
        return faults


class CalfStretch(_Stretch):
    spec = _spec(
        "calf_stretch", "Calf stretch at a wall",
        "back leg: knee extended, heel on the floor; forward lean; bouncing",
        (FaultSpec("back_knee_bent", "Keep your back knee straight", 0.5),
         FaultSpec("heel_lifted", "Keep your heel down", 0.5), BOUNCING),
        {"hold_s": 20.0, "back_knee_bent_deg": 155.0, "heel_lift_max": 0.35, "stagger_min_torso": 0.3,
         "lean_max_deg": 60.0, "position_cue": "Hands on the wall, one foot back, heel down"},
        "K ex. 4 (calf stretch: hold 20 s, 3 times a day)", CALF_STRETCH_STEPS, needs_mask=False)

    def stretched_side(self, k):
        """The back leg: the one that is not in front."""
        front = front_leg(k, self.p["stagger_min_torso"])
        return None if front is None else other(front)

    def in_position(self, k):
        if not finite(k.ankle_left_x, k.ankle_right_x, k.torso_px) or k.torso_px <= 0:
            return False
        return (abs(k.ankle_left_x - k.ankle_right_x) / k.torso_px >= self.p["stagger_min_torso"]
                and k.trunk_incline_deg < self.p["lean_max_deg"])

    def frame_faults(self, k):
        back = self.current_side(k)
        return {"back_knee_bent": finite(k.knee_deg(back)) and k.knee_deg(back) < self.p["back_knee_bent_deg"],
                "heel_lifted": finite(k.heel_lift(back)) and k.heel_lift(back) > self.p["heel_lift_max"],
                "bouncing": self.bounce.update(k.t_s, self.body_lean(k))}

    @staticmethod
    def body_lean(k) -> float:
        """What bobs when someone bounces into the wall: the hips rocking over the feet, as the lean of the
        line from between the ankles to the hips. Both feet stay put, so it does not depend on which leg is
        called which (a knee angle would jump when the front and back legs trade places for a frame)."""
        if not finite(k.ankle_left_x, k.ankle_right_x, k.ankle_left_y, k.ankle_right_y, k.hip_mid_x, k.hip_mid_y):
            return math.nan
        dx = k.hip_mid_x - (k.ankle_left_x + k.ankle_right_x) / 2
        dy = (k.ankle_left_y + k.ankle_right_y) / 2 - k.hip_mid_y
        return math.degrees(math.atan2(dx, dy))

    def angles(self, k):
        return {"back knee": k.knee_deg(self.current_side(k))}


STRETCHES = (HamstringStanding, HamstringSeated, HamstringSupine, HamstringChair, CalfStretch)
