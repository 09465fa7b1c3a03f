"""The checker skeletons: `Checker` (refusals, gaps, episodes), `RepChecker` (counted cycles of one signal)
and `HoldChecker` (a position held, with grace). Checkers see numbers (`Kinematics`), never pixels."""

from __future__ import annotations

import math
from dataclasses import replace
from collections import Counter
from typing import Any

from ..kinematics import Kinematics
from .machines import BounceDetector, Cycle, CycleCounter, Episodes
from .records import CheckResult, Episode, FrameState, Hold, Rep
from .rules import REFUSAL_CUES, finite, refusal_reason, rounded_in_photo, with_cue
from .spec import ExerciseSpec

REFUSAL_MIN_S = 0.3  # shorter refusals are flicker: the frame is skipped but no span is reported
# A refusal this long (from its first refused frame to the latest) ends a hold and abandons a rep in progress;
# a shorter one (the person lost for a few frames: a plate or an arm in front of the body) is a dropout the
# movement goes on through, and the smoothing bridges it (smoothing.GAP_BRIDGE_S).
REFUSAL_RESET_S = 0.5
# No frame for this long (live: a busy server or a thin network) and what happened in between was not seen:
# a foot put down, the top of a rep. Like a refusal, it ends a hold and abandons a rep at the last frame seen.
UNWATCHED_GAP_S = 1.0


class Checker:
    """Frame-by-frame judge of one exercise. Subclasses implement `score` (and may extend `refuse`)."""

    spec: ExerciseSpec

    def __init__(self, params: dict[str, Any] | None = None):
        self.p = self.spec.params(params)
        self.faults = Episodes()
        self.refusals = Episodes()
        self.reps: list[Rep] = []
        self.holds: list[Hold] = []
        self._refused_since: float | None = None
        self._t = 0.0
        self._seen = False  # a frame came before (self._t is its time)

    @property
    def fault_min_s(self) -> dict[str, float]:
        return {f.code: f.min_duration_s for f in self.spec.faults}

    def refuse(self, k: Kinematics) -> str | None:
        return refusal_reason(k, self.spec.views)

    def posture_faults(self, k: Kinematics) -> list[str]:
        """The faults one still photo shows (no movement, no baseline). Only exercises judged on a
        posture say anything; counting and timing need video."""
        return []

    def update(self, k: Kinematics) -> FrameState:
        if self._seen and k.t_s - self._t > UNWATCHED_GAP_S:
            self.interrupt(self._t)
        self._t, self._seen = k.t_s, True
        reason = self.refuse(k)
        self.refusals.update(k.t_s, {r: r == reason for r in REFUSAL_CUES}, {r: REFUSAL_MIN_S for r in REFUSAL_CUES})
        if reason is None:
            self._refused_since = None
            return self.score(k)
        self._refused_since = self._refused_since if self._refused_since is not None else k.t_s
        if k.t_s - self._refused_since >= REFUSAL_RESET_S:
            self.interrupt(self._refused_since)
        self.faults.update(k.t_s, {c: False for c in self.fault_min_s}, self.fault_min_s)
        return FrameState(k.t_s, scoring=False, refusal=reason, rep_count=len(self.reps), cue=REFUSAL_CUES[reason])

    def score(self, k: Kinematics) -> FrameState:
        raise NotImplementedError

    def interrupt(self, t_s: float) -> None:
        """The view was lost at t_s: end what was in progress (holds end, half reps are dropped)."""

    def working_side(self) -> str | None:
        sides = {r.side for r in self.reps if r.side} | {h.side for h in self.holds if h.side}
        if not sides:
            return None
        return sides.pop() if len(sides) == 1 else "both"

    def finish(self) -> CheckResult:
        self.interrupt(self._t)
        # a fault seen during a rep that never completed belongs to no rep
        faults = [e if e.rep is None or e.rep <= len(self.reps) else replace(e, rep=None)
                  for e in self.faults.finish(self._t, self.fault_min_s)]
        refused = self.refusals.finish(self._t, {r: REFUSAL_MIN_S for r in REFUSAL_CUES})
        return CheckResult(self.reps, self.holds, faults, refused, self.working_side())


class RepChecker(Checker):
    """A checker that counts up-and-back cycles of one angle (hip flexion, knee flexion, …).

    Subclasses say what the counted signal is, which faults a frame shows, and what a finished rep
    records; counting, fault episodes, rep attribution and the lowering phase live here.
    """

    def __init__(self, params=None):
        super().__init__(params)
        self.counter = CycleCounter(self.p["rise_deg"], min_peak=self.p.get("min_peak_deg", self.p["rise_deg"]),
                                    min_cycle_s=self.p["min_rep_s"])
        self._rep_faults: set[str] = set()
        self._lowering_rep: Rep | None = None
        self._whole_rep_codes: set[str] = set()

    # --- what subclasses say --------------------------------------------------------------------
    def signal(self, k: Kinematics) -> float:
        raise NotImplementedError

    def frame_faults(self, k: Kinematics, cycle: Cycle | None) -> dict[str, bool]:
        """Faults this frame shows; `cycle` is the rep in progress (None between reps)."""
        return {}

    def rep_started(self, k: Kinematics, cycle: Cycle) -> None:
        pass

    def is_rep(self, cycle: Cycle) -> bool:
        """Whether a completed cycle was the exercise, not a look-alike movement (e.g. a step, not a lunge)."""
        return True

    def rep_done(self, rep: Rep, cycle: Cycle) -> None:
        """Fill in the side, metrics and per-rep faults of a rep that just completed."""

    def rep_landed(self, rep: Rep, cycle: Cycle) -> None:
        """The lowering of `rep` has ended (e.g. time it)."""

    def angles(self, k: Kinematics) -> dict[str, float]:
        return {}

    # --- the machinery --------------------------------------------------------------------------
    def interrupt(self, t_s):
        self.counter.reset()
        self._lowering_rep = None

    def rep_fault(self, rep: Rep, code: str, start_s: float, end_s: float) -> None:
        self.faults.closed.append(Episode(code, start_s, end_s, rep.index))
        rep.faults = sorted(set(rep.faults) | {code})
        self._whole_rep_codes.add(code)

    def score(self, k: Kinematics) -> FrameState:
        event, cycle = self.counter.update(k.t_s, self.signal(k))
        if event == "completed" and not self.is_rep(cycle):
            event, self.counter.lowering = "discarded", None
        if event == "started":
            self._lowering_rep, self._rep_faults = None, set()
            self.rep_started(k, cycle)
        self.faults.update(k.t_s, self.frame_faults(k, self.counter.current), self.fault_min_s,
                           rep=len(self.reps) + 1)
        now = self.faults.active(k.t_s, self.fault_min_s)
        self._rep_faults.update(now)
        if event == "completed":
            rep = Rep(index=len(self.reps) + 1, start_s=cycle.start_s, peak_s=cycle.peak_s, end_s=cycle.end_s,
                      side=None, faults=sorted(self._rep_faults))
            self.rep_done(rep, cycle)
            self.reps.append(rep)
            self._lowering_rep = rep
        if self._lowering_rep is not None and cycle is not None and cycle.end_s is not None:
            self._lowering_rep.end_s = cycle.end_s
        if event == "landed" and self._lowering_rep is not None:
            self.rep_landed(self._lowering_rep, cycle)
        state = FrameState(k.t_s, scoring=True, rep_count=len(self.reps), angles=self.angles(k))
        return with_cue(state, self.spec, now + self._recent_rep_faults(k.t_s))

    def _recent_rep_faults(self, t_s: float) -> list[str]:
        """Faults judged on a whole rep (range, speed) stay on screen for two seconds after it."""
        last = self.reps[-1] if self.reps else None
        if last is None or t_s - last.end_s > 2.0:
            return []
        return [f for f in last.faults if f in self._whole_rep_codes]


class HoldChecker(Checker):
    """A stretch held in position. The timer runs only while the position is right; the hold survives
    `grace_s` out of position (then ends where the position was last right). `correct_s` counts the
    time in position with no fault. Subclasses say what "in position" is and which faults a frame shows."""

    def __init__(self, params=None):
        super().__init__(params)
        self._hold: Hold | None = None
        self._last_in: float | None = None
        self._prev_t: float | None = None
        self.bounce = BounceDetector()
        self._upright_bow = math.inf
        self._side_votes: Counter[str] = Counter()
        self._back: dict[str, float] = {}

    def in_position(self, k: Kinematics) -> bool:
        raise NotImplementedError

    def frame_faults(self, k: Kinematics) -> dict[str, bool]:
        return {}

    def stretched_side(self, k: Kinematics) -> str | None:
        """The leg being stretched in this frame (None when it's not a one-leg stretch)."""
        return None

    def hold_metrics(self, hold: Hold) -> dict:
        """What a subclass measures of a whole hold, beyond the back's and the target's (its metrics)."""
        return {}

    def current_side(self, k: Kinematics) -> str:
        """The stretched leg this frame: the hold's leg so far when this frame can't tell (never None)."""
        side = self.stretched_side(k)
        if side is None and self._side_votes:
            side = self._side_votes.most_common(1)[0][0]
        return side or "left"

    def _track_back(self, k: Kinematics) -> None:
        """Both measures of hinge vs rounding, kept per hold: the silhouette's bow and the landmarks'
        ear–shoulder–hip angle and trunk lean."""
        for key, value, pick in (("max_back_bow", k.back_bow, max), ("min_ear_shoulder_hip_deg", k.neck_deg, min),
                                 ("max_trunk_incline_deg", k.trunk_incline_deg, max)):
            if math.isfinite(value):
                self._back[key] = value if not math.isfinite(self._back[key]) else pick(self._back[key], value)

    def posture_faults(self, k: Kinematics) -> list[str]:
        if not self.in_position(k):
            return []
        faults = self.frame_faults(k)
        faults.pop("bouncing", None)  # needs movement
        if "back_rounded" in faults:
            faults["back_rounded"] = rounded_in_photo(k, self.p)
        return [code for code, on in faults.items() if on]

    def left_stretch(self, k: Kinematics) -> bool:
        """Clearly out of the stretch (not a wobble): ends the hold at once."""
        return False

    def starts_hold(self, k: Kinematics, faults: dict[str, bool]) -> bool:
        """Whether a hold may begin on this frame, in position with these faults (default: at once)."""
        return True

    def angles(self, k: Kinematics) -> dict[str, float]:
        return {}

    def interrupt(self, t_s):
        self._end(self._last_in if self._last_in is not None else t_s)
        self.bounce.reset()
        self._prev_t = None

    def score(self, k: Kinematics) -> FrameState:
        dt = k.t_s - self._prev_t if self._prev_t is not None else 0.0
        self._prev_t = k.t_s
        inside = self.in_position(k)
        if self._hold is not None and self.left_stretch(k):
            self._end(self._last_in)  # stood up / sat up: the hold is over, no grace needed
        starting = self._hold is None or k.t_s - self._hold.start_s < 0.5
        if finite(k.back_bow) and (k.trunk_incline_deg < 15 or inside and starting):
            # this back's own bow: standing or sitting tall, or as the hold begins (the catalogue's
            # "compare with the start of the hold"); rounding_back() caps what it may excuse
            self._upright_bow = min(self._upright_bow, k.back_bow)
        faults = self.frame_faults(k) if inside else {}
        faults = {code: faults.get(code, False) for code in self.fault_min_s}
        self.faults.update(k.t_s, faults, self.fault_min_s)
        now = self.faults.active(k.t_s, self.fault_min_s)
        if inside and (self._hold is not None or self.starts_hold(k, faults)):
            if self._hold is None:
                self._hold = Hold(start_s=k.t_s, end_s=k.t_s, side=None)
                self.bounce.reset()
                self._side_votes.clear()
                self._back = {"max_back_bow": math.nan, "min_ear_shoulder_hip_deg": math.nan,
                              "max_trunk_incline_deg": math.nan}
            else:
                self._hold.end_s = k.t_s
                self._hold.correct_s += dt if not now else 0.0
            self._track_back(k)
            side = self.stretched_side(k)
            if side is not None:
                self._side_votes[side] += 1
            self._last_in = k.t_s
        elif self._hold is not None and k.t_s - self._last_in > self.p["grace_s"]:
            self._end(self._last_in)
        holding = self._hold is not None
        cue = None if inside else self.spec.position_cue
        state = FrameState(k.t_s, scoring=True, holding=holding, hold_s=self._hold.duration_s if holding else 0.0,
                           cue=cue, angles=self.angles(k) if inside else {})
        return with_cue(state, self.spec, now)

    def _end(self, t_end: float) -> None:
        hold, self._hold = self._hold, None
        if hold is not None:
            hold.end_s = min(hold.end_s, t_end)
            # side-on, MediaPipe swaps the legs now and then: the hold's leg is the one seen most
        if hold is not None and hold.duration_s >= self.p["min_hold_s"]:
            hold.correct_s = min(hold.correct_s, hold.duration_s)
            hold.side = self._side_votes.most_common(1)[0][0] if self._side_votes else None
            hold.metrics.update({key: round(v, 3) for key, v in self._back.items() if math.isfinite(v)})
            hold.metrics["target_s"] = self.p["hold_s"]
            hold.metrics["reached_target"] = hold.correct_s >= self.p["hold_s"]
            hold.metrics.update(self.hold_metrics(hold))
            self.holds.append(hold)
