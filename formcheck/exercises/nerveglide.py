"""Seated sciatic nerve glide (H, nerve glide): sitting, knee extended; one rep = toes up with the chin
down, then toes pointed with the chin up. The nerve should glide, never be held on stretch.

Counts cycles of the working ankle (knee–ankle–toes angle: toes up is small, pointed is large). Faults:
`held_end_range` when either end position is kept still for more than a second; `out_of_phase` when the
head moves against the foot (the chin must go down as the toes come up: head pitch and ankle angle rise
and fall together). No real video of this exercise exists here yet: it is tested on synthetic series.
"""

from __future__ import annotations

import numpy as np

from .base import ExerciseSpec, FaultSpec, RepChecker, finite

SPEC = ExerciseSpec(
    name="sciatic_nerve_glide",
    title="Seated sciatic nerve glide",
    kind="reps",
    views=("side", "oblique"),
    camera="Side-on, seated on a chair, 2 m away; the working leg, foot and your head in view.",
    measures="ankle up/down with the knee extended, head (chin) up/down, their timing, dwell at each end",
    faults=(
        FaultSpec("held_end_range", "Keep it moving, don't hold the end position", 0.0),
        FaultSpec("out_of_phase", "Chin down as your toes come up", 0.0),
    ),
    defaults={"sets": 3, "reps": 15, "rise_deg": 15.0, "min_rep_s": 0.8, "dwell_max_s": 1.0, "dwell_band_deg": 4.0,
              "phase_min_corr": 0.0},
    source="H nerve glide (seated: toes up + chin down, then toes pointed + chin up; 10–15 reps × 2–3; don't hold)",
)


class SciaticNerveGlide(RepChecker):
    spec = SPEC

    def __init__(self, params=None):
        super().__init__(params)
        self._samples: list[tuple[float, float, float]] = []  # (t, ankle, head) during the rep
        self._still_since: float | None = None
        self._still_at = float("nan")
        self._dwell_before: tuple[float, float] | None = None
        self._last_dwell: tuple[float, float] | None = None  # the latest still stretch (start, end)

    def refuse(self, k):
        reason = super().refuse(k)
        if reason is None and not finite(self._ankle(k), k.head_pitch_deg):
            return "low_visibility"
        return reason

    def working_leg(self, k) -> str:
        """The extended leg: the straighter knee."""
        return "left" if k.knee_left_deg >= k.knee_right_deg else "right"

    def _ankle(self, k) -> float:
        return k.ankle_deg(self.working_leg(k))

    def signal(self, k):
        return self._ankle(k)

    def rep_started(self, k, cycle):
        self._samples = []
        # a dwell at the toes-up end shows only once the next rep starts (resting after a set is fine)
        dwell = self._last_dwell
        self._dwell_before = dwell if self.reps and dwell and k.t_s - dwell[1] < 1.0 else None

    def frame_faults(self, k, cycle):
        ankle = self._ankle(k)
        self._samples.append((k.t_s, ankle, k.head_pitch_deg))
        # dwell: the ankle kept within a few degrees for longer than allowed (at either end of the range)
        if self._still_since is None or abs(ankle - self._still_at) > self.p["dwell_band_deg"]:
            if self._still_since is not None and k.t_s - self._still_since > self.p["dwell_max_s"]:
                self._last_dwell = (self._still_since, k.t_s)  # a long stillness just ended
            self._still_since, self._still_at = k.t_s, ankle
        held = k.t_s - self._still_since > self.p["dwell_max_s"]
        return {"held_end_range": held and cycle is not None}

    def rep_done(self, rep, cycle):
        ankles = np.array([a for _, a, _ in self._samples])
        heads = np.array([h for _, _, h in self._samples])
        corr = float(np.corrcoef(ankles, heads)[0, 1]) if len(ankles) > 2 and ankles.std() and heads.std() else 0.0
        rep.side = None
        rep.metrics = {"ankle_range_deg": round(float(ankles.max() - ankles.min()), 1) if len(ankles) else None,
                       "head_range_deg": round(float(heads.max() - heads.min()), 1) if len(heads) else None,
                       "head_ankle_correlation": round(corr, 2)}
        if self._dwell_before is not None:
            self.rep_fault(rep, "held_end_range", *self._dwell_before)
        if corr < self.p["phase_min_corr"]:
            self.rep_fault(rep, "out_of_phase", cycle.start_s, cycle.end_s)

    def angles(self, k):
        return {"ankle": self._ankle(k), "head pitch": k.head_pitch_deg}
