"""The live coach as plain functions: frames in, overlaid frames and thread-safe counters out."""

import threading

import numpy as np
import pytest

from conftest import FIXTURES
from formcheck.live import SET_LIMIT_S, CueRateLimiter, LiveCoach
from formcheck.pose import PoseSeries


class ReplayEstimator:
    """Stands in for the camera + model: replays a landmark series recorded from a real clip."""

    def __init__(self, series: PoseSeries):
        self.series, self.i, self.closed = series, 0, False

    def detect(self, rgb, t_s):
        pose = self.series.pose(self.i % len(self.series))
        self.i += 1
        return pose

    def close(self):
        self.closed = True


def test_cue_limiter_never_nags():
    cues = CueRateLimiter(repeat_s=8, gap_s=2.5)
    said = [t for t in np.arange(0, 20, 0.1) if cues.offer("Keep your knee straight", float(t))]
    assert said == pytest.approx([0.0, 8.0, 16.0], abs=0.11)
    assert cues.offer("Lower slowly", 16.5) is False and cues.offer("Lower slowly", 18.6) is True
    assert cues.latest == (4, "Lower slowly")


def test_coach_counts_reps_from_a_recorded_clip_and_draws_on_every_frame():
    series = PoseSeries.load(FIXTURES / "legraise_supine_dk1.full.npz")
    estimator = ReplayEstimator(series)
    coach = LiveCoach("straight_leg_raise", estimator=estimator)
    frame = np.zeros((series.height, series.width, 3), np.uint8)
    outs = [coach.process(frame, float(t)) for t in series.t_s]
    snap = coach.snapshot()
    assert snap.frames == len(series) and snap.rep_count == 3 and snap.scoring
    assert all(o.shape == frame.shape for o in outs) and any(o.any() for o in outs)  # overlay drawn
    assert snap.latency_ms > 0
    assert coach.set_progress(snap) == "1 / 3"  # 3 of the 10 reps of set 1
    analysis = coach.finish()
    assert len(analysis.result.reps) == 3 and estimator.closed
    assert coach.process(frame, 99.0) is frame  # after finish, frames pass through untouched


def test_snapshots_are_consistent_while_frames_arrive_on_another_thread():
    series = PoseSeries.load(FIXTURES / "legraise_supine_dk2.full.npz")
    coach = LiveCoach("straight_leg_raise", estimator=ReplayEstimator(series))
    frame = np.zeros((series.height, series.width, 3), np.uint8)
    worker = threading.Thread(target=lambda: [coach.process(frame, float(t)) for t in series.t_s])
    worker.start()
    seen = []
    while worker.is_alive():
        seen.append(coach.snapshot().rep_count)
    worker.join()
    assert seen == sorted(seen)  # counts only ever go up, never torn
    assert coach.snapshot().rep_count == 3


def test_counter_target_and_sets_follow_the_prescription_not_the_defaults():
    coach = LiveCoach("straight_leg_raise", {"reps": 20, "sets": 2})
    assert coach.target == " / 20"
    snap = coach.snapshot()
    assert coach.set_progress(snap) == "1 / 2"
    assert LiveCoach("hamstring_stretch_standing", {"hold_s": 25.0}).target == " / 25 s"
    assert LiveCoach("single_leg_balance").target == " / 45 s"


def test_a_set_left_running_stops_recording_at_the_limit():
    """Memory stays bounded: after SET_LIMIT_S the coach keeps no more frames, and says why on the picture."""
    series = PoseSeries.load(FIXTURES / "legraise_supine_dk1.full.npz")
    coach = LiveCoach("straight_leg_raise", estimator=ReplayEstimator(series))
    frame = np.zeros((series.height, series.width, 3), np.uint8)
    fps = 1.0  # one frame a second keeps the test quick; the limit is on the frames' own times
    for i in range(SET_LIMIT_S + 30):
        out = coach.process(frame, i / fps)
    snap = coach.snapshot()
    assert snap.limit_reached and snap.frames == SET_LIMIT_S + 1
    assert out.any()  # the limit is written on the returned frame
    analysis = coach.finish()
    assert len(analysis.poses) == SET_LIMIT_S + 1
