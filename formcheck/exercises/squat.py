"""Squat and lunge (K ex. 1 progressions: "when the exercise gets easier … squats and lunges").

Both count down-and-up cycles of knee flexion (180° − knee angle): a rep completes once the person has
come back up. The squat follows both knees (the better-seen one side-on). The lunge counts the deepest knee
bend of either leg, so alternating and walking lunges count whichever leg leads, and each rep names its
front leg: the one whose foot is flat, where the back foot stands on its toes. Depth and knee-over-toe are
judged at the bottom of each rep, trunk lean in a lunge too. Everything is read within each frame (angles,
one foot against the other), so a camera that follows the person changes nothing. Thresholds are starting
values a therapist changes per patient; knee-over-toe needs a side view.
"""

from __future__ import annotations

import math
from collections import Counter

from ..legs import SIDES, Side
from .checker import RepChecker
from .machines import Cycle
from .records import Rep
from .rules import finite
from .spec import ExerciseSpec, FaultSpec


def _spec(name, title, measures, faults, defaults, steps, views=("side", "oblique", "front")):
    return ExerciseSpec(
        name=name, title=title, kind="reps", views=views,
        camera="Side-on (best) or facing the camera, 2–3 m away, whole body in view including the feet.",
        measures=measures, faults=faults,
        defaults={"sets": 3, "reps": 10, "rise_deg": 25.0, "min_rep_s": 0.8, "min_depth_deg": 60.0,
                  "knee_over_toe_max": 0.35, **defaults},
        source="K ex. 1 (squats and lunges once the leg raise gets easy); catalogue squat/lunge", steps=steps,
    )


SQUAT = _spec("squat", "Squat", "knee and hip flexion, depth, knee over toe",
              (FaultSpec("too_shallow", "Bend a little deeper", 0.0),
               FaultSpec("knee_over_toe", "Keep your knees behind your toes", 0.2)), {},
              ('Feet hip-width; sit back and down as if onto a chair (K ex. 1, progression).',
               'Knees over your feet, not past your toes; come back up tall.'))
LUNGE = _spec("lunge", "Lunge", "front-knee flexion, depth, trunk upright, knee over toe",
              (FaultSpec("too_shallow", "Bend a little deeper", 0.0),
               FaultSpec("knee_over_toe", "Keep your front knee behind your toes", 0.2),
               FaultSpec("trunk_lean", "Keep your upper body upright", 0.3)),
              {"trunk_lean_max_deg": 30.0,
               # brisk and walking lunges go from the low to half-way back up in well under the squat's 0.8 s;
               # under half a second nobody lowers into a lunge and rises under control
               "min_rep_s": 0.5,
               # the back foot stands on its toes (its heel a good part of a foot length above its toes, from
               # the side or the front); the front foot is flat, or pointing at the camera, its heel far lower
               "front_heel_margin": 0.2,
               # both knees bend in a lunge (the back one towards the floor); a step bends only the swinging
               # leg's knee, the standing knee giving no more than the 15–20° it gives in walking
               "lesser_knee_min_deg": 25.0},
              ('Step forward and lower your back knee towards the floor (K ex. 1, progression).',
               'Front knee over the foot, upper body upright; push back up. Alternate legs or repeat one.'))


class Squat(RepChecker):
    spec = SQUAT

    def refuse(self, k):
        reason = super().refuse(k)
        if reason is None and not finite(k.knee_left_deg, k.knee_right_deg):
            return "low_visibility"
        return reason

    def working_knee(self, k) -> str:
        return "left" if k.vis_leg_left >= k.vis_leg_right else "right"

    def signal(self, k):
        """Both knees bend in a squat: their mean when both are seen, else the better-seen one (side-on)."""
        if min(k.vis_leg_left, k.vis_leg_right) >= 0.5:
            return 180.0 - (k.knee_left_deg + k.knee_right_deg) / 2
        return 180.0 - k.knee_deg(self.working_knee(k))

    def frame_faults(self, k, cycle):
        deep = cycle is not None and self.signal(k) >= cycle.base + self.p["rise_deg"]
        over = k.knee_over_toe(self.working_knee(k))
        return {"knee_over_toe": deep and k.view == "side" and finite(over) and over > self.p["knee_over_toe_max"]}

    def rep_done(self, rep, cycle):
        rep.metrics = {"peak_knee_flexion_deg": round(cycle.peak, 1)}
        if cycle.peak < self.p["min_depth_deg"]:
            self.rep_fault(rep, "too_shallow", cycle.start_s, cycle.end_s)

    def angles(self, k):
        return {"knee flexion": self.signal(k), "hip flexion": 180.0 - min(k.hip_left_deg, k.hip_right_deg)}


class Lunge(Squat):
    spec = LUNGE

    def __init__(self, params=None):
        super().__init__(params)
        self._front_votes: Counter[Side] = Counter()
        self._lesser_bend = -math.inf  # the less-bent knee's deepest flexion in the rep so far

    def signal(self, k):
        """The deepest knee bend of either leg: it rises in every lunge whichever leg leads. Side-on it is the
        front knee's; facing the camera the back knee, its shin running away from the lens, reads deeper."""
        bends = [180.0 - k.knee_deg(s) for s in SIDES if math.isfinite(k.knee_deg(s))]
        return max(bends) if bends else math.nan

    def front_leg(self, k) -> Side | None:
        """The leg in front: its foot flat, where the back foot stands on its toes (the heel's lift over the
        toes, in foot lengths, is read in the picture the same from the side or the front). When a heel can't
        be read, the foot lower in the picture: nearer the camera from the front, heel down from the side."""
        left, right = k.heel_lift("left"), k.heel_lift("right")
        if finite(left, right) and abs(left - right) >= self.p["front_heel_margin"]:
            return "left" if left < right else "right"
        (_, left_y), (_, right_y) = k.ankle_xy("left"), k.ankle_xy("right")
        if finite(left_y, right_y) and left_y != right_y:
            return "left" if left_y > right_y else "right"
        return None

    def working_knee(self, k) -> str:
        """The front knee (knee over toe is judged on it); the more bent one when the front can't be told."""
        front = self.front_leg(k)
        if front is not None:
            return front
        return min(SIDES, key=lambda s: k.knee_deg(s) if math.isfinite(k.knee_deg(s)) else 360.0)

    def rep_started(self, k, cycle):
        self._front_votes.clear()
        self._lesser_bend = -math.inf

    def is_rep(self, cycle):
        """A lunge bent both knees; one knee bending alone was a step (into place, or between lunges)."""
        return self._lesser_bend >= self.p["lesser_knee_min_deg"]

    def frame_faults(self, k, cycle):
        # besides the faults, each frame of a rep adds to what the rep is judged on when it completes
        faults = super().frame_faults(k, cycle)
        if cycle is not None and finite(k.knee_left_deg, k.knee_right_deg):
            self._lesser_bend = max(self._lesser_bend, 180.0 - max(k.knee_left_deg, k.knee_right_deg))
        deep = cycle is not None and self.signal(k) >= cycle.base + self.p["rise_deg"]
        if deep and (front := self.front_leg(k)) is not None:
            self._front_votes[front] += 1
        faults["trunk_lean"] = (deep and finite(k.trunk_incline_deg)
                                and k.trunk_incline_deg > self.p["trunk_lean_max_deg"])
        return faults

    def rep_done(self, rep: Rep, cycle: Cycle):
        super().rep_done(rep, cycle)
        # the leg in front in most of the rep's deep frames: a frame or two of a foot misread can't flip it
        rep.side = self._front_votes.most_common(1)[0][0] if self._front_votes else None
