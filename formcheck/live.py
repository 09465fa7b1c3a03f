"""Live coaching: one browser session's camera frames through the same `Session`, with overlay and cues.

The WebRTC frame callback runs on its own thread; the page reads the counters from another. `LiveCoach`
is the one object they share: every piece of state the page sees is copied out under a lock, so the page
never reads half-updated counters. The session counts everything the camera sees; the coach's `Workout`
(formcheck/workout.py) makes sets of it: a countdown, each set's count up to its target, a rest, the next
set. No Streamlit here: the page (ui/live.py) wires it to streamlit-webrtc. Where the patient's browser finds
the landmarks itself (formcheck/web), `LandmarkCoach` judges them: one judging step for both.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from . import models
from .exercises import CATALOGUE
from .exercises.records import FrameState
from .overlay import draw
from .pose import Pose, PoseEstimator
from .session import Session
from .workout import Workout, WorkoutPlan, WorkoutStatus, start_status

CUE_REPEAT_S = 8.0  # the same cue is spoken at most this often
CUE_GAP_S = 2.5  # and no two cues closer than this
# A live workout keeps its frames' landmarks and states (~4 KB a frame) for the summary and the therapist, so
# a camera left running must not grow a server's memory without end: it stops recording at this length.
SET_LIMIT_S = 10 * 60
SET_LIMIT_CUE = f"This workout reached the {SET_LIMIT_S // 60}-minute limit: press STOP to see it"
# Below this many coached frames a second, gaps between them often exceed UNWATCHED_GAP_S (exercises/checker.py),
# where holds end and reps are dropped: the page says why.
FEW_FRAMES_FPS = 2.0
FEW_FRAMES_CUE = ("Few frames reach the coach (a busy server or a slow connection): where frames are missing, "
                  "the hold timer stops and reps are not counted")


@dataclass(frozen=True)
class LiveSnapshot:
    """What the page shows, copied out of the callback thread in one piece."""

    frames: int
    scoring: bool
    refusal: str | None
    rep_count: int
    holding: bool
    hold_s: float
    best_hold_s: float
    holds_done: int
    cue: str | None
    spoken: tuple[int, str] | None  # (sequence number, text) of the latest cue to say aloud
    fps: float
    latency_ms: float  # median processing time of the last frames
    angles: dict[str, float] = field(default_factory=dict)
    limit_reached: bool = False  # the workout hit SET_LIMIT_S and records no more
    workout: WorkoutStatus | None = None  # the sets: countdown, this set's count, rest, every set so far
    faults: tuple[str, ...] = ()  # the frame's faults shown (the colour: see exercises.records.tone)


BEFORE_FIRST_FRAME = LiveSnapshot(frames=0, scoring=False, refusal=None, rep_count=0, holding=False, hold_s=0.0,
                                  best_hold_s=0.0, holds_done=0, cue=None, spoken=None, fps=0.0, latency_ms=0.0)


class CueRateLimiter:
    """Decides which cues are spoken: each text at most every `repeat_s`, never two within `gap_s`."""

    def __init__(self, repeat_s: float = CUE_REPEAT_S, gap_s: float = CUE_GAP_S):
        self.repeat_s, self.gap_s = repeat_s, gap_s
        self._last_by_text: dict[str, float] = {}
        self._last_any = -1e9
        self.count = 0
        self.latest: tuple[int, str] | None = None

    def offer(self, cue: str | None, now_s: float, force: bool = False) -> bool:
        """Whether `cue` is said now; `force`: an announcement (set done, go), said whatever came before."""
        if not cue or not force and (now_s - self._last_any < self.gap_s
                                     or now_s - self._last_by_text.get(cue, -1e9) < self.repeat_s):
            return False
        self._last_by_text[cue] = self._last_any = now_s
        self.count += 1
        self.latest = (self.count, cue)
        return True


class LiveSet:
    """What a live workout aims at: the exercise's settings in force (defaults + prescription), its targets
    and its plan of sets (`plan`: the settings' sets and reps or hold, with a prescribed rest if any)."""

    def __init__(self, exercise: str, params: dict | None = None, plan: WorkoutPlan | None = None):
        self.exercise, self.params = exercise, params
        self.spec = CATALOGUE[exercise]
        self.settings = self.spec.params(params)
        self.target = self.spec.target_text(self.settings)
        self.plan = plan or WorkoutPlan.for_exercise(self.spec, self.settings)

    def set_progress(self, snap: LiveSnapshot) -> str:
        """"2 / 3": the set under way (or next), "3 / 3 done" once the last set is done."""
        status = snap.workout or start_status(self.plan)
        if status.phase == "done":
            return f"{self.plan.sets} / {self.plan.sets} done"
        return f"{status.set_index} / {self.plan.sets}"


class LandmarkCoach(LiveSet):
    """A live coach for landmarks found elsewhere (the patient's browser): it judges them and runs no model.

    Its `_judge` is the one judging step: `LiveCoach` below finds the landmarks itself, then judges them here."""

    def __init__(self, exercise: str, width: int | None, height: int | None, params: dict | None = None,
                 clock=time.monotonic, plan: WorkoutPlan | None = None):
        super().__init__(exercise, params, plan)
        self.width, self.height = width, height  # the camera frame's size in pixels (None: from the first frame)
        self._session: Session | None = None
        self._lock = threading.Lock()  # guards what the page reads
        self._work = threading.Lock()  # one frame at a time; finish() waits for the frame in hand
        self._finished = False
        self._clock = clock
        self._cues = CueRateLimiter()
        self._workout = Workout(self.plan)
        self._state: FrameState | None = None
        self._rep_count = 0  # every rep the session counted, sets and rests alike
        self._status: WorkoutStatus | None = None
        self._frames = 0
        self._best_hold = 0.0
        self._holds_done = 0
        self._t0: float | None = None  # the set's first frame time
        self._limit_reached = False
        self._last_t: float | None = None
        self._times: list[float] = []  # recent frame arrival times (for fps)
        self._costs: list[float] = []  # recent processing times in seconds

    def add(self, pose: Pose | None, t_s: float) -> LiveSnapshot:
        """One frame's landmarks (None: nobody found) judged; what the page shows after it."""
        with self._work:
            if not self._finished:
                started = self._clock()
                t_s = self._admit(t_s, self.width, self.height)
                if not self._limit_reached:
                    self._judge(pose, t_s, started)
                    self._spent(started)
        return self.snapshot()

    def _admit(self, t_s: float, width: int, height: int) -> float:
        """The frame's time, made strictly increasing (the session needs it); past SET_LIMIT_S, the limit is set."""
        if self._session is None:
            self._session = Session(self.exercise, width, height, self.params, live=True)
        if self._last_t is not None and t_s <= self._last_t:
            t_s = self._last_t + 1e-3
        self._last_t = t_s
        self._t0 = t_s if self._t0 is None else self._t0
        if t_s - self._t0 > SET_LIMIT_S:
            with self._lock:
                self._limit_reached = True
        return t_s

    def _judge(self, pose: Pose | None, t_s: float, now_s: float) -> tuple[FrameState, WorkoutStatus]:
        """The judging step: session, workout, cue limiter, the page's state. `now_s`: the clock, for the cues."""
        raw = self._session.add(pose, t_s)
        status = self._workout.update(t_s, raw)
        state = self._workout.shown(raw)  # the set's count, no fault cue outside a set
        with self._lock:
            self._state = state
            self._rep_count = raw.rep_count
            self._frames += 1
            self._best_hold = max(self._best_hold, state.hold_s)
            self._holds_done = len(self._session.checker.holds)
            self._status = status
            if self._workout.said:
                self._cues.offer(self._workout.said, now_s, force=True)
            else:
                self._cues.offer(state.cue, now_s)
            self._times = (self._times + [now_s])[-60:]
        return state, status

    def _spent(self, started: float) -> None:
        """A frame's whole cost (finding, judging, drawing), for the snapshot's latency."""
        cost = self._clock() - started
        with self._lock:
            self._costs = (self._costs + [cost])[-60:]

    def snapshot(self) -> LiveSnapshot:
        with self._lock:
            s = self._state
            fps = (len(self._times) - 1) / (self._times[-1] - self._times[0]) if len(self._times) > 1 and \
                self._times[-1] > self._times[0] else 0.0
            latency = float(np.median(self._costs)) * 1000 if self._costs else 0.0
            return LiveSnapshot(
                frames=self._frames, scoring=bool(s and s.scoring), refusal=s.refusal if s else None,
                rep_count=self._rep_count, holding=bool(s and s.holding), hold_s=s.hold_s if s else 0.0,
                best_hold_s=self._best_hold, holds_done=self._holds_done, cue=s.cue if s else None,
                spoken=self._cues.latest, fps=fps,
                latency_ms=latency, angles=dict(s.angles) if s else {}, limit_reached=self._limit_reached,
                workout=self._status or start_status(self.plan), faults=s.faults if s else (),
            )

    def finish(self):
        """End of the set: the analysis of everything seen (or None if no frame came); a model, if any, let go."""
        with self._work:
            self._finished = True
            session, self._session = self._session, None
            self._release()
        return session.finish() if session is not None and session.frames else None

    def _release(self) -> None:
        """What finish() lets go of besides the session (a model, for a coach that runs one)."""


class LiveCoach(LandmarkCoach):
    """One browser session's coach on camera frames: its own landmarker, then the same judging, then the overlay."""

    def __init__(self, exercise: str, params: dict | None = None, variant: str = models.DEFAULT_VARIANT,
                 estimator: PoseEstimator | None = None, clock=time.monotonic, plan: WorkoutPlan | None = None):
        super().__init__(exercise, None, None, params, clock, plan)  # the size: from the first frame
        self.variant = variant
        self._estimator = estimator

    def process(self, rgb: np.ndarray, t_s: float) -> np.ndarray:
        """One camera frame in, the same frame with the overlay out (the WebRTC callback's whole job)."""
        with self._work:
            if self._finished:
                return rgb
            return self._process(rgb, t_s)

    def _process(self, rgb: np.ndarray, t_s: float) -> np.ndarray:
        started = self._clock()
        height, width = rgb.shape[:2]
        if self._estimator is None:
            self._estimator = PoseEstimator(self.variant, masks=self.spec.needs_mask)
        t_s = self._admit(t_s, width, height)
        if self._limit_reached:
            return draw(rgb, None, FrameState(t_s, scoring=False, cue=SET_LIMIT_CUE), self.spec, self.target)
        pose = self._estimator.detect(rgb, t_s)
        state, status = self._judge(pose, t_s, started)
        target = f" / {self.plan.target:.0f}" + ("" if self.plan.kind == "reps" else " s")
        out = draw(rgb, pose, state, self.spec, target, self._session.last_outline, banner=status.banner)
        self._spent(started)
        return out

    def _release(self) -> None:
        if self._estimator is not None:
            self._estimator.close()
            self._estimator = None
