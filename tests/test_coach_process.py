"""A live session's coach in its own process (formcheck/coach_process.py): the same coaching as in the server's
process, on a real clip with the real model, and a clear end when the child is gone."""

import gc
import os

import numpy as np
import pytest

from conftest import clip, ends_within
from formcheck import coach_process, pause
from formcheck.coach_process import PASSTHROUGH_FPS, CoachGone, CoachProcess
from formcheck.live import LiveCoach
from formcheck.video import read_frames

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def camera():
    """dk2's leg raises (3 reps, a bent knee on the third) as a camera: every second frame, ~15 frames/s."""
    return [(f.rgb, f.t_s) for f in read_frames(clip("legraise_supine_dk2.mp4"))][::2]


@pytest.fixture()
def held(tmp_path, monkeypatch):
    """Coaches' children started from here wait before loading their model (formcheck/pause.py) until the
    test releases them: a coach still starting, whatever the machine's speed."""
    folder = tmp_path / "pauses"
    monkeypatch.setenv(pause.ENV, str(folder))
    pause.hold(folder, "coach_start")
    return folder


class Clock:
    """A clock the test moves (CoachProcess reads time.monotonic)."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_a_coach_in_its_own_process_coaches_as_one_in_the_servers(camera, held):
    here, there = LiveCoach("straight_leg_raise"), CoachProcess("straight_leg_raise")
    assert there.snapshot().frames == 0 and there.target == here.target
    assert there.process(*camera[0]) is camera[0][0]  # while the child starts, frames pass through as they are
    pause.release(held, "coach_start")
    assert there.start(wait_s=60)
    counts = []
    for rgb, t_s in camera:
        near, far = here.process(rgb, t_s), there.process(rgb, t_s)
        counts.append((here.snapshot().rep_count, there.snapshot().rep_count))
    assert np.array_equal(near, far)  # the same overlay, drawn in the child
    assert all(a == b for a, b in counts) and counts[-1][1] == 3
    assert there.snapshot().frames == len(camera)
    assert there.set_progress(there.snapshot()) == here.set_progress(here.snapshot())
    child = there._child.pid
    assert child != os.getpid()
    mine, theirs = here.finish(), there.finish()
    assert [r.faults for r in theirs.result.reps] == [r.faults for r in mine.result.reps]
    assert "knee_bent" in theirs.result.reps[-1].faults
    assert len(theirs.poses) == len(camera)
    assert ends_within(child, 15)
    assert there.process(camera[0][0], 99.0) is camera[0][0]  # after finish, frames pass through untouched


def test_a_set_without_frames_starts_no_process_or_ends_the_one_it_started():
    coach = CoachProcess("single_leg_balance")
    assert coach.finish() is None and coach._child is None
    coach = CoachProcess("single_leg_balance")
    coach.start()  # the page started it ahead; STOP pressed before the coach was ready
    child = coach._child.pid
    assert coach.finish() is None and ends_within(child, 15)


def test_while_the_coach_starts_the_camera_goes_back_a_few_times_a_second(camera, held, monkeypatch):
    """Every frame sent back is encoded by the server and decoded by the browser: not at the camera's rate
    for a coach that is still loading (tens of seconds on a loaded server). A 100-frames/s camera for 1 s."""
    clock = Clock()
    monkeypatch.setattr(coach_process, "time", clock)
    coach = CoachProcess("straight_leg_raise")
    rgb, t_s = camera[0]
    try:
        back = []
        for _ in range(101):
            back.append(coach.process(rgb, t_s) is rgb)
            clock.now += 0.01
        assert back[0] and PASSTHROUGH_FPS <= sum(back) <= 1 + PASSTHROUGH_FPS, back  # 5 a second, not 100
    finally:
        coach.finish()


def test_a_coach_started_ahead_and_never_used_ends_and_the_first_frame_starts_another(camera):
    """The page starts the coach when it shows the live set, so START finds it ready; a page left open
    without START must not keep a model loaded for ever."""
    coach = CoachProcess("straight_leg_raise")
    coach.idle_exit_s = 1.0
    assert coach.start(wait_s=60)
    first = coach._child.pid
    assert ends_within(first, 30)
    coach.idle_exit_s = 60.0  # the next one waits long enough for the frame below
    assert coach.start(wait_s=60) and coach._child.pid != first  # a new child, not the ended one
    assert coach.process(*camera[0]) is not None and coach.snapshot().frames == 1
    assert coach.finish() is not None


def test_a_coach_whose_process_died_says_so(camera):
    coach = CoachProcess("straight_leg_raise")
    assert coach.start(wait_s=60)
    coach._child.kill()
    coach._child.wait(10)
    with pytest.raises(CoachGone, match="ended"):
        coach.process(*camera[1])
    with pytest.raises(CoachGone):
        coach.finish()


def test_a_coach_dropped_without_finishing_ends_its_process(camera):
    """A page closed mid-set: nothing calls finish, the coach object is dropped; its child must not linger."""
    coach = CoachProcess("straight_leg_raise")
    assert coach.start(wait_s=60)
    child = coach._child.pid
    del coach
    gc.collect()
    assert ends_within(child, 15)


def test_the_frame_callback_sends_the_drawn_frame_stamped_as_the_camera_frame(camera, held, monkeypatch):
    """What streamlit-webrtc calls (the page's and the live benchmark's callback): a camera VideoFrame in, a
    frame out with the camera frame's pts and time base: while the child starts, the camera as it is or
    nothing (None); once it is ready, the drawn frame, counted by the coach."""
    from fractions import Fraction

    import av

    rgb, t_s = camera[0]
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    frame.pts, frame.time_base = round(t_s * 90_000) + 9_000, Fraction(1, 90_000)
    clock = Clock()
    monkeypatch.setattr(coach_process, "time", clock)
    coach = CoachProcess("straight_leg_raise")
    try:
        passed = coach.process_video_frame(frame)  # starts the child; the camera goes back as it is
        assert (passed.pts, passed.time_base) == (frame.pts, frame.time_base)
        assert (passed.to_ndarray(format="rgb24") == rgb).all()
        clock.now += 0.5 / PASSTHROUGH_FPS
        assert coach.process_video_frame(frame) is None  # within 1 / PASSTHROUGH_FPS: nothing new to send
        pause.release(held, "coach_start")
        assert coach.start(wait_s=60)
        drawn = coach.process_video_frame(frame)
        assert (drawn.pts, drawn.time_base) == (frame.pts, frame.time_base) and coach.snapshot().frames == 1
        picture = drawn.to_ndarray(format="rgb24")
        assert picture.shape == rgb.shape and (picture != rgb).any()  # the overlay drawn on it
    finally:
        coach.finish()
