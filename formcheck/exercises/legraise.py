"""Straight-leg raise (K ex. 1): lying on the back, lift the leg of the painful knee with the knee straight,
the other knee bent with its foot flat (or straight on the floor); lower slowly.

A rep is a lift-and-lower cycle of the higher foot's lift off the floor (`Kinematics.leg_lift_*_deg`: the
ankle's height above the trunk's line, as a straight leg's angle). Measured at the foot, the other leg's
bent knee, however high it stands, never masks the working leg's rise. The working leg is the one that
rose; when both rose together, the rep counts with `both_legs` (a double-leg raise loads the low back).
`knee_bent` is judged on the working leg while it is up: lying, MediaPipe reads near-straight knees at the
top of a raise as ~135–141° (2-D) and clearly bent ones as ~112–120°, so the default is 128°, the middle of
that gap (catalogue). `head_lifted` is not judged: in 2-D the head's geometry swings with the pelvis curl
of a raise while the head stays on the floor, so it would fire on correct reps.
"""

from __future__ import annotations

from itertools import takewhile

from ..legs import SIDES, Side, other
from .checker import RepChecker
from .rules import finite
from .spec import ExerciseSpec, FaultSpec

SPEC = ExerciseSpec(
    name="straight_leg_raise",
    title="Straight-leg raise",
    kind="reps",
    views=("side",),
    camera="Side-on, at hip height, 2–3 m away; lie on your back along the picture, whole body in view.",
    measures="lift of the working leg's foot off the floor, its knee angle and hip flexion, lowering time, "
             "the other leg staying down",
    faults=(
        FaultSpec("knee_bent", "Keep your knee straight"),
        FaultSpec("both_legs", "Lift one leg only; keep the other knee bent", 0.0),
        FaultSpec("dropped", "Lower slowly", 0.0),
        FaultSpec("range_small", "Lift a little higher", 0.0),
    ),
    defaults={
        "sets": 3, "reps": 10, "reps_goal": 20, "per_day": 2,
        "target_flexion_deg": 30.0,  # single-leg form: 30–45° of lift
        "knee_bent_deg": 128.0,  # lying, 2-D: straight knees read 135–141° at the top, bent ones 112–120°
        "lowering_min_s": 0.5,  # faster than this is a drop
        "rise_deg": 20.0,  # hysteresis: a rep starts 20° above the last low
        "min_rep_s": 0.8,
        "lying_min_incline_deg": 55.0,  # trunk at least this far from upright to count as lying
        "both_legs_share": 0.5,  # the other foot rose by at least this share of the working foot's rise
    },
    steps=(
        'Lie on your back; bend the other knee with its foot flat on the floor (K ex. 1).',
        'Keep the knee of your painful leg straight and lift that leg (K ex. 1).',
        'Lower it slowly back to the floor; 10 times, 3 sets, twice a day (K ex. 1).',
        'When it gets easy, build up to 3 × 20; later squats and lunges (K ex. 1).',
    ),
    source="K ex. 1 (lie on your back, lift the leg of the painful knee, 3 × 10, build to 3 × 20, twice a day)",
)


class StraightLegRaise(RepChecker):
    spec = SPEC

    def __init__(self, params=None):
        super().__init__(params)
        self._knees: list[tuple[float, float]] = []  # (t, knee angle of the raised leg) while it is up
        self._lows: dict[Side, float] = {}  # each foot's lift, and each hip's flexion, resting before the rep
        self._flexion_lows: dict[Side, float] = {}
        self._forget_lows()
        self._peaks: dict[Side, float] = {}
        self._peak_flexion = float("nan")

    def refuse(self, k):
        reason = super().refuse(k)
        if reason is None and not finite(k.leg_lift_left_deg, k.leg_lift_right_deg, k.hip_left_deg, k.hip_right_deg):
            return "low_visibility"
        if reason is None and not k.trunk_incline_deg >= self.p["lying_min_incline_deg"]:
            return "wrong_view"  # standing or sitting: this checker judges a raise lying on the back
        return reason

    def signal(self, k):
        return max(k.leg_lift_deg(s) for s in SIDES)

    def lifted(self, k) -> list[Side]:
        """The legs up in this frame: the higher foot, and the other one too if it is nearly as high."""
        higher = max(SIDES, key=k.leg_lift_deg)
        other_up = k.leg_lift_deg(other(higher)) >= self.p["both_legs_share"] * max(k.leg_lift_deg(higher), 0.0) > 0
        return [higher, other(higher)] if other_up else [higher]

    def _forget_lows(self) -> None:
        self._lows = {s: float("inf") for s in SIDES}
        self._flexion_lows = dict(self._lows)

    def interrupt(self, t_s):
        super().interrupt(t_s)
        self._forget_lows()

    def _knee(self, k) -> float:
        """The knee of the raised leg (of the better-seen one when both are up)."""
        return k.knee_deg(max(self.lifted(k), key=k.leg_visibility))

    def rep_started(self, k, cycle):
        self._knees, self._peak_flexion = [], float("nan")
        self._peaks = {s: k.leg_lift_deg(s) for s in SIDES}
        for s in SIDES:  # a rep that began with the checker has its start as its low
            self._lows[s] = min(self._lows[s], k.leg_lift_deg(s))
            self._flexion_lows[s] = min(self._flexion_lows[s], k.hip_flexion_deg(s))

    def frame_faults(self, k, cycle):
        if cycle is None:  # between reps: where each leg rests
            for s in SIDES:
                self._lows[s] = min(self._lows[s], k.leg_lift_deg(s))
                self._flexion_lows[s] = min(self._flexion_lows[s], k.hip_flexion_deg(s))
            return {"knee_bent": False}
        for s in SIDES:
            self._peaks[s] = max(self._peaks[s], k.leg_lift_deg(s))
        if self.signal(k) >= cycle.peak:
            self._peak_flexion = max(k.hip_flexion_deg(s) for s in self.lifted(k))
        judged = max(self.lifted(k), key=k.leg_visibility)
        knee = k.knee_deg(judged)
        # the thigh is up: judged on hip flexion, which a knee bent on the way down does not lower as it does the foot
        leg_up = k.hip_flexion_deg(judged) >= self._flexion_lows[judged] + self.p["rise_deg"] / 2
        if leg_up and finite(knee):
            self._knees.append((k.t_s, knee))
        return {"knee_bent": leg_up and knee < self.p["knee_bent_deg"]}

    def rep_done(self, rep, cycle):
        rises = {s: self._peaks[s] - self._lows[s] for s in SIDES}
        top = max(rises.values())
        lifted = [s for s in SIDES if rises[s] >= max(self.p["both_legs_share"] * top, self.p["rise_deg"])]
        self._forget_lows()
        rep.side = lifted[0] if len(lifted) == 1 else "both"
        knee = self._sustained_min_knee()
        rep.metrics = {"peak_leg_lift_deg": round(cycle.peak, 1),
                       "peak_hip_flexion_deg": round(self._peak_flexion, 1) if finite(self._peak_flexion) else None,
                       "min_knee_angle_deg": round(knee, 1) if finite(knee) else None}
        if len(lifted) > 1:
            self.rep_fault(rep, "both_legs", cycle.start_s, cycle.end_s)
        if cycle.peak < self.p["target_flexion_deg"]:
            self.rep_fault(rep, "range_small", cycle.start_s, cycle.end_s)

    def _sustained_min_knee(self) -> float:
        """The most the knee stayed bent for as long as `knee_bent` needs (a glitch of a frame or two, a foot
        MediaPipe guessed in the wrong place, is not a bent knee)."""
        window = self.spec.fault("knee_bent").min_duration_s
        times = [t for t, _ in self._knees]
        levels = [max(a for _, a in takewhile(lambda sample: sample[0] <= t0 + window, self._knees[i:]))
                  for i, t0 in enumerate(times) if t0 + window <= times[-1]]
        return min(levels, default=float("nan"))

    def rep_landed(self, rep, cycle):
        top = cycle.leave_top_s or cycle.peak_s
        rep.metrics["lowering_s"] = round(cycle.landed_s - top, 2)
        if cycle.landed_s - top < self.p["lowering_min_s"]:
            self.rep_fault(rep, "dropped", top, cycle.landed_s)

    def angles(self, k):
        return {"leg lift": self.signal(k), "knee": self._knee(k)}
