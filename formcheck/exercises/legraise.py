"""Straight-leg raise (K ex. 1): lying on the back, lift the leg(s) with a straight knee, lower slowly.

Counts lift-and-lower cycles of hip flexion (a double-leg raise counts too) and judges the knee of the
lifted leg, the range and the lowering speed. Calibration (catalogue, measured on the real clips):
lying down, MediaPipe reads near-straight knees at the top of a raise as ~135–141° (2-D) and clearly
bent ones as ~112–120°, so `knee_bent` fires below 128°, the middle of that gap — not at a peer's 160°.
`head_lifted` (catalogue) is not judged yet: on the real clips the 2-D head/neck geometry moves by 30°+
with the pelvis curl of the raise while the head stays on the floor, so it would fire on correct reps.
"""

from __future__ import annotations

from .base import ExerciseSpec, FaultSpec, RepChecker, finite

SPEC = ExerciseSpec(
    name="straight_leg_raise",
    title="Straight-leg raise",
    kind="reps",
    views=("side",),
    camera="Side-on, at hip height, 2–3 m away; lie on your back along the picture, whole body in view.",
    measures="hip flexion of the lifted leg(s), knee angle of the lifted leg, lowering time",
    faults=(
        FaultSpec("knee_bent", "Keep your knee straight"),
        FaultSpec("dropped", "Lower slowly", 0.0),
        FaultSpec("range_small", "Lift a little higher", 0.0),
    ),
    defaults={
        "sets": 3, "reps": 10, "reps_goal": 20, "per_day": 2,
        "target_flexion_deg": 30.0,  # single-leg form: 30–45° of hip flexion
        "knee_bent_deg": 128.0,  # calibrated on legraise_supine_dk1–4 (see module docstring)
        "lowering_min_s": 0.5,  # faster than this is a drop
        "rise_deg": 20.0,  # hysteresis: a rep starts 20° above the last low
        "min_rep_s": 0.8,
        "lying_min_incline_deg": 55.0,  # trunk at least this far from upright to count as lying
    },
    source="K ex. 1 (lie on your back, lift the leg of the painful knee, 3 × 10, build to 3 × 20, twice a day)",
)
SIDES = ("left", "right")


class StraightLegRaise(RepChecker):
    spec = SPEC

    def __init__(self, params=None):
        super().__init__(params)
        self._min_knee = float("inf")
        self._peaks: dict[str, float] = {}

    def refuse(self, k):
        reason = super().refuse(k)
        if reason is None and not finite(k.hip_left_deg, k.hip_right_deg):
            return "low_visibility"
        if reason is None and not k.trunk_incline_deg >= self.p["lying_min_incline_deg"]:
            return "wrong_view"  # standing or sitting: this checker judges a raise lying on the back
        return reason

    def signal(self, k):
        return max(k.hip_flexion_deg(s) for s in SIDES)

    def _knee(self, k) -> float:
        """The knee of the lifted leg (of the better-seen one when both are up)."""
        lift = self.signal(k)
        lifted = [s for s in SIDES if k.hip_flexion_deg(s) >= lift - 15.0]
        return k.knee_deg(max(lifted, key=k.leg_visibility))

    def rep_started(self, k, cycle):
        self._min_knee = float("inf")
        self._peaks = {s: k.hip_flexion_deg(s) - cycle.base for s in SIDES}

    def frame_faults(self, k, cycle):
        if cycle is None:
            return {"knee_bent": False}
        for s in SIDES:
            self._peaks[s] = max(self._peaks[s], k.hip_flexion_deg(s) - cycle.base)
        knee = self._knee(k)
        leg_up = self.signal(k) >= cycle.base + self.p["rise_deg"] / 2
        if leg_up and finite(knee):
            self._min_knee = min(self._min_knee, knee)
        return {"knee_bent": leg_up and knee < self.p["knee_bent_deg"]}

    def rep_done(self, rep, cycle):
        rise = max(self._peaks.values())
        lifted = [s for s, r in self._peaks.items() if r >= 0.5 * rise]
        rep.side = lifted[0] if len(lifted) == 1 else "both"
        rep.metrics = {"peak_hip_flexion_deg": round(cycle.peak, 1),
                       "min_knee_angle_deg": round(self._min_knee, 1) if finite(self._min_knee) else None}
        if cycle.peak < self.p["target_flexion_deg"]:
            self.rep_fault(rep, "range_small", cycle.start_s, cycle.end_s)

    def rep_landed(self, rep, cycle):
        top = cycle.leave_top_s or cycle.peak_s
        rep.metrics["lowering_s"] = round(cycle.landed_s - top, 2)
        if cycle.landed_s - top < self.p["lowering_min_s"]:
            self.rep_fault(rep, "dropped", top, cycle.landed_s)

    def angles(self, k):
        return {"hip flexion": self.signal(k), "knee": self._knee(k)}
