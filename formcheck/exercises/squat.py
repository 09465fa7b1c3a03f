"""Squat and lunge (K ex. 1 progressions: "when the exercise gets easier … squats and lunges").

Both count down-and-up cycles of knee flexion (180° − knee angle): a rep completes once the person has
come back up. The squat follows both knees (the better-seen one side-on); the lunge follows the front
knee, the more bent one. Depth and knee-over-toe are judged at the bottom of each rep, trunk lean in a
lunge too. Thresholds are starting values a therapist changes per patient; knee-over-toe needs a side view.
"""

from __future__ import annotations

import math

from .base import ExerciseSpec, FaultSpec, RepChecker, finite

SIDES = ("left", "right")


def _spec(name, title, measures, faults, defaults, views=("side", "oblique", "front")):
    return ExerciseSpec(
        name=name, title=title, kind="reps", views=views,
        camera="Side-on (best) or facing the camera, 2–3 m away, whole body in view including the feet.",
        measures=measures, faults=faults,
        defaults={"sets": 3, "reps": 10, "rise_deg": 25.0, "min_rep_s": 0.8, "min_depth_deg": 60.0,
                  "knee_over_toe_max": 0.35, **defaults},
        source="K ex. 1 (squats and lunges once the leg raise gets easy); catalogue squat/lunge",
    )


SQUAT = _spec("squat", "Squat", "knee and hip flexion, depth, knee over toe",
              (FaultSpec("too_shallow", "Bend a little deeper", 0.0),
               FaultSpec("knee_over_toe", "Keep your knees behind your toes", 0.2)), {})
LUNGE = _spec("lunge", "Lunge", "front-knee flexion, depth, trunk upright, knee over toe",
              (FaultSpec("too_shallow", "Bend a little deeper", 0.0),
               FaultSpec("knee_over_toe", "Keep your front knee behind your toes", 0.2),
               FaultSpec("trunk_lean", "Keep your upper body upright", 0.3)), {"trunk_lean_max_deg": 30.0})


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

    def signal(self, k):
        return 180.0 - k.knee_deg(self.working_knee(k))

    def working_knee(self, k) -> str:
        """The front knee: the more bent one."""
        return min(SIDES, key=lambda s: k.knee_deg(s) if math.isfinite(k.knee_deg(s)) else 360.0)

    def frame_faults(self, k, cycle):
        faults = super().frame_faults(k, cycle)
        deep = cycle is not None and self.signal(k) >= cycle.base + self.p["rise_deg"]
        faults["trunk_lean"] = deep and finite(k.trunk_incline_deg) and k.trunk_incline_deg > self.p["trunk_lean_max_deg"]
        return faults

    def rep_done(self, rep, cycle):
        super().rep_done(rep, cycle)
        rep.side = None
