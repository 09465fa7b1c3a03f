"""Straight-leg raise (K ex. 1): lying on the back, lift the leg(s) with a straight knee, lower slowly.

Counts lift-and-lower cycles of hip flexion (a double-leg raise counts too) and judges the knee of the
lifted leg, the range and the lowering speed. Calibration (catalogue, measured on the real clips):
lying down, MediaPipe reads near-straight knees at the top of a raise as ~135–141° (2-D) and clearly
bent ones as ~112–120°, so `knee_bent` fires below 128°, the middle of that gap — not at a peer's 160°.
`head_lifted` (catalogue) is not judged yet: on the real clips the 2-D head/neck geometry moves by 30°+
with the pelvis curl of the raise while the head stays on the floor, so it would fire on correct reps.
"""

from __future__ import annotations

from .base import Checker, Episode, ExerciseSpec, FaultSpec, FrameState, CycleCounter, Rep, finite, with_cue

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


class StraightLegRaise(Checker):
    spec = SPEC

    def __init__(self, params=None):
        super().__init__(params)
        self.counter = CycleCounter(self.p["rise_deg"], min_peak=self.p["rise_deg"], min_cycle_s=self.p["min_rep_s"])
        self._rep_faults: set[str] = set()
        self._rep_min_knee = float("inf")
        self._rep_peaks: dict[str, float] = {}
        self._lowering_rep: Rep | None = None

    def refuse(self, k):
        reason = super().refuse(k)
        if reason is None and not finite(k.hip_left_deg, k.hip_right_deg):
            return "low_visibility"
        if reason is None and not k.trunk_incline_deg >= self.p["lying_min_incline_deg"]:
            return "wrong_view"  # standing or sitting: this checker judges a raise lying on the back
        return reason

    def interrupt(self, t_s):
        self.counter.reset()
        self._lowering_rep = None

    def score(self, k) -> FrameState:
        flex = {s: k.hip_flexion_deg(s) for s in ("left", "right")}
        lift = max(flex.values())
        event, cycle = self.counter.update(k.t_s, lift)
        in_rep = self.counter.current is not None
        if event == "started":
            self._lowering_rep = None
            self._rep_faults, self._rep_min_knee = set(), float("inf")
            self._rep_peaks = {s: flex[s] - cycle.base for s in flex}

        active = {"knee_bent": False}
        lifted = [s for s in flex if flex[s] >= lift - 15.0]
        knee = k.knee_deg(max(lifted, key=k.leg_visibility))
        if in_rep:
            for s in flex:
                self._rep_peaks[s] = max(self._rep_peaks[s], flex[s] - self.counter.current.base)
            if lift >= self.counter.current.base + self.p["rise_deg"] / 2 and finite(knee):
                self._rep_min_knee = min(self._rep_min_knee, knee)
                active["knee_bent"] = knee < self.p["knee_bent_deg"]
        self.faults.update(k.t_s, active, self.fault_min_s, rep=len(self.reps) + 1)
        now = self.faults.active(k.t_s, self.fault_min_s)
        self._rep_faults.update(now)

        if event == "completed":
            self._complete(cycle)
        if self._lowering_rep is not None and cycle is not None and cycle.end_s is not None:
            self._lowering_rep.end_s = cycle.end_s
        if event == "landed":
            self._landed(cycle)

        state = FrameState(k.t_s, scoring=True, rep_count=len(self.reps),
                           angles={"hip flexion": lift, "knee": knee})
        return with_cue(state, self.spec, now + self._recent_rep_faults(k.t_s))

    def _complete(self, cycle) -> None:
        rise = max(self._rep_peaks.values())
        lifted = [s for s, r in self._rep_peaks.items() if r >= 0.5 * rise]
        rep = Rep(
            index=len(self.reps) + 1, start_s=cycle.start_s, peak_s=cycle.peak_s, end_s=cycle.end_s,
            side=lifted[0] if len(lifted) == 1 else "both",
            metrics={"peak_hip_flexion_deg": round(cycle.peak, 1),
                     "min_knee_angle_deg": round(self._rep_min_knee, 1) if finite(self._rep_min_knee) else None},
        )
        if cycle.peak < self.p["target_flexion_deg"]:
            self.faults.closed.append(Episode("range_small", cycle.start_s, cycle.end_s, rep.index))
            self._rep_faults.add("range_small")
        rep.faults = sorted(self._rep_faults)
        self.reps.append(rep)
        self._lowering_rep = rep

    def _landed(self, cycle) -> None:
        rep = self._lowering_rep
        lowering_s = cycle.landed_s - (cycle.leave_top_s or cycle.peak_s)
        rep.metrics["lowering_s"] = round(lowering_s, 2)
        if lowering_s < self.p["lowering_min_s"]:
            self.faults.closed.append(Episode("dropped", cycle.leave_top_s or cycle.peak_s, cycle.landed_s, rep.index))
            rep.faults = sorted(set(rep.faults) | {"dropped"})

    def _recent_rep_faults(self, t_s: float) -> list[str]:
        """Per-rep faults (range, drop) stay on screen for two seconds after the rep."""
        last = self.reps[-1] if self.reps else None
        if last and t_s - last.end_s <= 2.0:
            return [f for f in last.faults if f in ("range_small", "dropped")]
        return []
