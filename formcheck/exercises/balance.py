"""Single-leg balance (K ex. 2): stand on one leg as long as you can.

A hold is one stance: it starts when a foot leaves the floor and ends when it touches down, the person
leaves the picture, or the shot cuts. "Off the floor" is the higher foot's height above the other
(`Kinematics.ankle_lift_left`: each foot at its own leg's drawn size, so side-on the foot nearer the camera
is not taken for lower), in leg lengths, with hysteresis (on above 0.10, off below 0.05), so a weight shift
never starts a hold and a wobble never ends one. Only the feet count: a hand on a wall or a chair, or a free
foot held behind with the knee bent, is a stance like any other.

A stance ends only when both feet are down: a frame that shows the *other* foot up is the legs' labels
swapped (a switch of legs puts the free foot down first), not a touch-down. The hold's leg is the one seen
standing for most of it, and the standing foot watched for hopping is the lower one in each frame.
"""

from __future__ import annotations

import math

from ..legs import SIDES, Side, other
from .checker import Checker
from .records import Episode, FrameState, Hold
from .rules import with_cue
from .spec import ExerciseSpec, FaultSpec

SPEC = ExerciseSpec(
    name="single_leg_balance",
    title="Single-leg balance",
    kind="hold",
    views=("front", "oblique", "side"),
    camera="Facing the camera (or side-on), 2–3 m away, whole body in view from head to feet; a hand on a wall "
           "or a chair for support is fine.",
    measures="stance start (free foot off the floor) and end (touch-down), duration, sway, standing-foot movement",
    faults=(
        FaultSpec("hopping", "Keep your standing foot still", 0.2),
        FaultSpec("touch_down", "Foot down: lift it again when you are ready", 0.0),
    ),
    defaults={
        "sets": 3, "target_hold_s": 45.0,  # best of 3; cap 45 s
        "lift_on": 0.10, "lift_off": 0.05,  # free foot above the standing foot, in leg lengths
        "touchdown_s": 0.15,  # the free foot must stay down this long to end the hold
        "min_hold_s": 0.5,
        "hop_torso": 0.3,  # standing ankle moved this many torso lengths from where the stance began
        "cut_ratio": 1.35,  # body size jumping by this factor between frames = the shot cut
    },
    steps=(
        'Stand on one leg; a hand near a wall or chair for safety is fine (K ex. 2).',
        'Hold as long as you can, as often as you can: brushing your teeth, cooking (K ex. 2).',
        'Harder: close your eyes, then stand on a balance cushion (K ex. 2).',
    ),
    source="K ex. 2 (stand on one leg; as often as possible; eyes closed or a cushion to progress)",
)


def standing_leg(lift: float) -> Side:
    """The leg under the lower foot (`lift` = left foot above the right)."""
    return "right" if lift > 0 else "left"


class SingleLegBalance(Checker):
    spec = SPEC

    def __init__(self, params=None):
        super().__init__(params)
        self._up_since: float | None = None  # a foot off the floor since (before the hold is confirmed)
        self._hold: Hold | None = None
        self._anchor = (math.nan, math.nan)
        self._stood = dict.fromkeys(SIDES, 0.0)  # seconds of this hold seen standing on each leg
        self._touch_since: float | None = None  # when the free foot came down (a touch-down being confirmed)
        self._down_last = math.nan  # the latest frame that saw it down
        self._path = 0.0  # hip path length in torso lengths
        self._hip_prev: tuple[float, float] | None = None
        self._fault_s = 0.0
        self._fault_run: float | None = None
        self._prev = None

    def refuse(self, k):
        reason = super().refuse(k)
        if reason is None and not math.isfinite(k.ankle_lift_left):
            return "low_visibility"  # a foot is hidden: whether it is off the floor can't be told
        return reason

    def interrupt(self, t_s):
        self._end_hold(t_s)
        self._up_since = None
        self._prev = None

    def score(self, k) -> FrameState:
        prev, self._prev = self._prev, k
        if (prev is not None and prev.torso_px > 0
                and not 1 / self.p["cut_ratio"] < k.torso_px / prev.torso_px < self.p["cut_ratio"]):
            self.interrupt(prev.t_s)  # the shot cut: what follows is another stance
            self._prev = k
        lift = k.ankle_lift_left
        up = abs(lift)  # either foot: which one is the hold's business, not the floor's
        active = {"hopping": False}
        if self._hold is None:
            if up < self.p["lift_off"]:
                self._up_since = None
            else:
                self._up_since = self._up_since if self._up_since is not None else k.t_s
                if up >= self.p["lift_on"]:
                    self._start_hold(k, standing_leg(lift))
        elif up < self.p["lift_off"]:
            if self._touch_since is None:  # it came down between the last frame (the hold's end) and this one
                self._touch_since = (self._hold.end_s + k.t_s) / 2
            self._down_last = k.t_s
            if k.t_s - self._touch_since >= self.p["touchdown_s"]:
                self._touch_down(k.t_s)
        else:
            if self._touch_since is not None:  # up again: it went up between the last frame and this one
                if (self._down_last + k.t_s) / 2 - self._touch_since >= self.p["touchdown_s"]:
                    self._touch_down((self._down_last + k.t_s) / 2)
                self._touch_since = None
            if self._hold is not None:
                self._stood[standing_leg(lift)] += k.t_s - self._hold.end_s
        if self._hold is not None:
            if self._touch_since is None:  # while a touch-down is being confirmed, the clock stands still
                self._hold.end_s = k.t_s
            hip = (k.hip_mid_x, k.hip_mid_y)
            if self._hip_prev is not None and k.torso_px > 0:
                self._path += math.dist(hip, self._hip_prev) / k.torso_px
            self._hip_prev = hip
            standing = standing_leg(lift) if up >= self.p["lift_off"] else self._leg(self._hold)
            active["hopping"] = math.dist(k.ankle_xy(standing), self._anchor) / k.torso_px > self.p["hop_torso"]
        self.faults.update(k.t_s, active, self.fault_min_s, rep=None)
        now = self.faults.active(k.t_s, self.fault_min_s)
        self._track_fault_time(k.t_s, active["hopping"])
        holding = self._hold is not None
        state = FrameState(
            k.t_s, scoring=True, holding=holding, hold_s=self._hold.duration_s if holding else 0.0,
            cue=None if holding else "Lift one foot off the floor",
            angles={"knee L": k.knee_left_deg, "knee R": k.knee_right_deg},
        )
        return with_cue(state, self.spec, now)

    def _leg(self, hold: Hold) -> Side:
        """The leg `hold` has been seen standing on most (the one it began on, on a tie)."""
        first = hold.side
        return other(first) if self._stood[other(first)] > self._stood[first] else first

    def _touch_down(self, t_s: float) -> None:
        start = self._touch_since
        if self._end_hold(start):
            self.faults.closed.append(Episode("touch_down", start, t_s))

    def _start_hold(self, k, stance: Side) -> None:
        self._hold = Hold(start_s=self._up_since, end_s=k.t_s, side=stance)
        self._anchor = k.ankle_xy(stance)
        self._stood = dict.fromkeys(SIDES, 0.0)
        self._touch_since, self._hip_prev, self._path, self._fault_s, self._fault_run = None, None, 0.0, 0.0, None

    def _track_fault_time(self, t_s: float, faulty: bool) -> None:
        """Time spent in faults that lasted long enough to count (the whole episode, not just its tail)."""
        if faulty and self._fault_run is None:
            self._fault_run = t_s
        elif not faulty and self._fault_run is not None:
            self._close_fault_run(t_s)

    def _close_fault_run(self, t_s: float) -> None:
        if self._fault_run is not None and t_s - self._fault_run >= self.spec.fault("hopping").min_duration_s:
            self._fault_s += t_s - self._fault_run
        self._fault_run = None

    def _end_hold(self, t_end: float) -> bool:
        """End the hold in progress at `t_end`; whether it was long enough to count."""
        hold, self._hold = self._hold, None
        self._up_since = None
        if hold is None:
            return False
        hold.side = self._leg(hold)
        hold.end_s = max(hold.start_s, t_end)
        self._close_fault_run(hold.end_s)
        if hold.duration_s < self.p["min_hold_s"]:
            return False
        hold.correct_s = max(0.0, hold.duration_s - self._fault_s)
        hold.metrics = {"sway_index": round(self._path / hold.duration_s, 3) if hold.duration_s else None}
        self.holds.append(hold)
        return True
