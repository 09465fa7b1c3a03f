"""One exercise over one stream of poses: the meeting point of the live page, the upload page and the CLI.

Poses go in (with their true timestamps); per-frame states (for overlay and cues) and, at the end, the
checker's result come out. Live sessions follow the legs, smooth causally (One-Euro) and judge each frame
at once; offline sessions keep the series, follow the legs over all of it and smooth it zero-phase before
judging, so timings have no lag.
"""

from __future__ import annotations

from dataclasses import dataclass

from .exercises import make_checker
from .exercises.records import CheckResult, FrameState
from .kinematics import Kinematics, measure
from .legs import LegTracker, track_series
from .pose import Pose, PoseRecorder, PoseSeries
from .silhouette import BackOutline, back_outline
from .smoothing import LiveSmoother, zero_phase


@dataclass
class Analysis:
    exercise: str
    kinematics: list[Kinematics]  # smoothed, one per frame
    states: list[FrameState]  # one per frame
    result: CheckResult
    poses: PoseSeries  # raw landmarks, for storage and the overlay
    outlines: list  # per frame: the back outline points (n×2 pixels) measured from the mask, or None
    params: dict  # the exercise settings in force (defaults + prescription)


class Session:
    def __init__(self, exercise: str, width: int, height: int, params: dict | None = None, live: bool = False):
        self.exercise, self.width, self.height, self.live = exercise, width, height, live
        self.checker = make_checker(exercise, params)
        self._smooth = LiveSmoother() if live else None
        self._legs = LegTracker(width, height) if live else None
        self._poses = PoseRecorder(width, height)  # landmarks only: a frame's mask is MBs, its outline is kept
        # offline: each frame's back bow and head curl, measured when the frame is judged
        self._bows: list[tuple[float, float]] = []
        self._states: list[FrameState] = []
        self._smoothed: list[Kinematics] = []
        self._outlines: list = []

    def add(self, pose: Pose | None, t_s: float, outline: BackOutline | None = None) -> FrameState | None:
        """Feed one frame's pose (None when nobody was found). Live sessions return the frame's state.

        `outline` is the back outline when it was already measured from the pose's mask (by a worker tracking one
        part of a clip)."""
        if outline is None and pose is not None:
            outline = back_outline(pose, pose.mask)
        back = (outline.deviation, outline.head_curl_deg) if outline else (float("nan"), float("nan"))
        self._outlines.append(outline.points if outline is not None else None)
        if not self.live:
            self._poses.append(t_s, pose)
            self._bows.append(back)
            return None
        pose = self._legs.track(pose)
        self._poses.append(t_s, pose)
        record = self._smooth(measure(pose, self.width, self.height, t_s, *back))
        self._smoothed.append(record)
        state = self.checker.update(record)
        self._states.append(state)
        return state

    @property
    def last_outline(self):
        """The back outline measured on the latest frame (pixels), or None."""
        return self._outlines[-1] if self._outlines else None

    @property
    def frames(self) -> int:
        return len(self._poses)

    def finish(self) -> Analysis:
        series = self._poses.series()
        if not self.live:
            series = track_series(series)
            self._smoothed = zero_phase([measure(series.pose(i), self.width, self.height, float(series.t_s[i]), *back)
                                         for i, back in enumerate(self._bows)])
            self._states = [self.checker.update(k) for k in self._smoothed]
        result = self.checker.finish()
        return Analysis(self.exercise, self._smoothed, self._states, result, series, self._outlines,
                        dict(self.checker.p))


def analyze_series(series: PoseSeries, exercise: str, params: dict | None = None, live: bool = False) -> Analysis:
    """Run a recorded landmark series through a session (what the tests do with fixtures)."""
    session = Session(exercise, series.width, series.height, params, live=live)
    for i in range(len(series)):
        session.add(series.pose(i), float(series.t_s[i]))
    return session.finish()
