"""The live coach as plain functions: frames in, overlaid frames and thread-safe counters out."""

import itertools
import threading

import numpy as np
import pytest

from conftest import FIXTURES
from formcheck import live
from formcheck.live import SET_LIMIT_S, CueRateLimiter, LandmarkCoach, LiveCoach
from formcheck.pose import PoseSeries
from formcheck.workout import WorkoutPlan


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


def ticks():
    """A clock moving 20 ms a reading (two a frame): each coach gets its own, so fps, latency and cue times are
    the same for both when they judge alike."""
    return itertools.count(0.0, 0.02).__next__


def same_analysis(a, b, presence: bool = True) -> None:
    assert repr((a.exercise, a.kinematics, a.states, a.result, a.params)) == repr(
        (b.exercise, b.kinematics, b.states, b.result, b.params))
    columns = slice(None) if presence else slice(0, 4)
    np.testing.assert_array_equal(a.poses.image[..., columns], b.poses.image[..., columns])
    for name in ("t_s", "world", "people", "others_height"):
        np.testing.assert_array_equal(getattr(a.poses, name), getattr(b.poses, name))
    assert len(a.outlines) == len(b.outlines)
    for x, y in zip(a.outlines, b.outlines):
        assert (x is None) == (y is None) and (x is None or np.array_equal(x, y))


@pytest.mark.parametrize("name, exercise, plan", [
    ("legraise_supine_dk2", "straight_leg_raise", WorkoutPlan("reps", sets=2, target=2, rest_s=2, countdown_s=1)),
    ("treepose_sheknows", "single_leg_balance", WorkoutPlan("hold", sets=2, target=3, rest_s=1, countdown_s=1)),
    ("squat_side_formfit", "squat", None),  # frames where the person is lost
])
def test_landmarks_judged_without_a_model_give_what_camera_frames_give(name, exercise, plan, monkeypatch):
    """The one source of truth: the same poses through LiveCoach (camera path) and LandmarkCoach (browser path)
    give the same snapshot after every frame, sets and cues included, and the same analysis at the end."""
    series = PoseSeries.load(FIXTURES / f"{name}.full.npz")
    camera = LiveCoach(exercise, estimator=ReplayEstimator(series), clock=ticks(), plan=plan)
    frame = np.zeros((series.height, series.width, 3), np.uint8)
    monkeypatch.setattr(live, "PoseEstimator", None)  # a LandmarkCoach that tried to run a model would fail
    browser = LandmarkCoach(exercise, series.width, series.height, clock=ticks(), plan=plan)
    loop = float(series.t_s[-1] - series.t_s[0]) + 0.04
    phases = set()
    for k in range(2):  # the clip twice as one camera: through the rest into the second set
        for i, t in enumerate(series.t_s):
            camera.process(frame, float(t) + k * loop)
            snap = browser.add(series.pose(i), float(t) + k * loop)
            assert repr(snap) == repr(camera.snapshot())
            phases.add(snap.workout.phase)
    assert snap.frames == 2 * len(series) and snap.spoken[0] > 1 and snap.latency_ms > 0
    assert phases >= ({"countdown", "set", "rest"} if plan else {"countdown", "set"})
    same_analysis(camera.finish(), browser.finish())
    assert browser.add(series.pose(0), 99.0) == snap  # after finish, nothing more is judged


def test_landmarks_with_a_mask_measure_the_same_back_outline():
    """The back's outline comes from the pose's mask in both paths (a synthetic long-sit, its silhouette drawn)."""
    from synthetic_body import H, W, seated

    class Synthetic:
        def detect(self, rgb, t_s):
            return seated(t_s, lean_deg=30 + 10 * np.sin(t_s), curl=0.5)

        def close(self):
            pass

    camera = LiveCoach("hamstring_stretch_seated", estimator=Synthetic(), clock=ticks())
    browser = LandmarkCoach("hamstring_stretch_seated", W, H, clock=ticks())
    frame = np.zeros((H, W, 3), np.uint8)
    for t in np.arange(0, 4, 0.1):
        camera.process(frame, float(t))
        assert repr(browser.add(seated(float(t), lean_deg=30 + 10 * np.sin(t), curl=0.5), float(t))) == repr(
            camera.snapshot())
    analysis = browser.finish()
    assert all(o is not None for o in analysis.outlines)
    same_analysis(camera.finish(), analysis)


def test_a_landmark_coach_stops_recording_at_the_limit_too():
    series = PoseSeries.load(FIXTURES / "legraise_supine_dk1.full.npz")
    coach = LandmarkCoach("straight_leg_raise", series.width, series.height)
    for i in range(SET_LIMIT_S + 30):
        snap = coach.add(series.pose(i % len(series)), float(i))
    assert snap.limit_reached and snap.frames == SET_LIMIT_S + 1
    assert len(coach.finish().poses) == SET_LIMIT_S + 1
