"""The landmark socket's wire format (formcheck/web/wire.py) and one stream's gate (formcheck/web/gate.py): frames
round-trip exactly, every kind of bad frame is refused with its reason, and landmarks that crossed the wire are
judged as the camera path judges the same poses."""

import itertools
import json
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FIXTURES
from formcheck.live import LandmarkCoach, LiveCoach
from formcheck.pose import N_LANDMARKS, PoseSeries, main_person, pose_from_result
from formcheck.web.gate import FrameGate
from formcheck.web.wire import MAX_MESSAGE_BYTES, MAX_T_MS, BadFrame, encode_frame, parse_frame, reply
from formcheck.workout import WorkoutPlan
from test_live import ReplayEstimator, same_analysis, ticks

W, H = 640, 480


def person(rng: np.random.Generator, scale: float = 1.0, centre=(0.5, 0.5)) -> tuple[np.ndarray, np.ndarray]:
    """A random but valid person: image (33, 4) around `centre`, `scale` frame heights tall; world (33, 3)."""
    image = np.empty((N_LANDMARKS, 4), np.float32)
    image[:, :2] = np.asarray(centre) + scale * rng.uniform(-0.5, 0.5, (N_LANDMARKS, 2))
    image[:, 2] = rng.uniform(-1, 1, N_LANDMARKS)
    image[:, 3] = rng.uniform(0, 1, N_LANDMARKS)
    return image, rng.uniform(-1.2, 1.2, (N_LANDMARKS, 3)).astype(np.float32)


def people(rng, n: int) -> tuple[np.ndarray, np.ndarray]:
    found = [person(rng, rng.uniform(0.2, 1.0)) for _ in range(n)]
    return (np.array([i for i, _ in found], np.float32).reshape(n, N_LANDMARKS, 4),
            np.array([w for _, w in found], np.float32).reshape(n, N_LANDMARKS, 3))


def one(seq=1, t_ms=40.0, mask=None, **change) -> bytes:
    """A valid one-person frame, with `change` applied to its arrays first (image=..., world=...)."""
    image, world = person(np.random.default_rng(seq))
    for name, edit in change.items():
        edit({"image": image, "world": world}[name])
    return encode_frame(seq, t_ms, image[None], world[None], mask)


# --- round trips ---------------------------------------------------------------------------------

def test_a_recorded_clip_round_trips_exactly_with_presence_not_measured():
    series = PoseSeries.load(FIXTURES / "squat_side_formfit.full.npz")
    for i, t in enumerate(series.t_s):
        pose = series.pose(i)
        images = pose.image[None] if pose else np.zeros((0, N_LANDMARKS, 5))
        worlds = pose.world[None] if pose else np.zeros((0, N_LANDMARKS, 3))
        data = encode_frame(i, float(t) * 1000, images, worlds)
        assert len(data) == (940 if pose else 16)
        frame = parse_frame(data, series.width, series.height)
        assert frame.seq == i and frame.t_s == float(t) * 1000 / 1000
        if pose is None:
            assert frame.pose is None
            continue
        got = frame.pose
        np.testing.assert_array_equal(got.image[:, :4], pose.image[:, :4])
        assert np.isnan(got.image[:, 4]).all() and got.image.dtype == np.float32 and got.image.flags.writeable
        np.testing.assert_array_equal(got.world, pose.world)
        assert (got.people, got.others_height, got.mask, got.t_s) == (1, 0.0, None, frame.t_s)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2), st.integers(0, 2**32 - 1), st.floats(0, MAX_T_MS), st.integers(0, 2**31), st.booleans(),
       st.integers(1, 48), st.integers(1, 48))
def test_any_valid_frame_round_trips(n, seq, t_ms, seed, with_mask, h, w):
    rng = np.random.default_rng(seed)
    images, worlds = people(rng, n)
    mask = (rng.uniform(0, 1, (h, w)) > 0.6).astype(np.float32) if with_mask and n else None
    frame = parse_frame(encode_frame(seq, t_ms, images, worlds, mask), W, H)
    assert (frame.seq, frame.t_s) == (seq, t_ms / 1000)
    if not n:
        assert frame.pose is None
        return
    main, others_height = main_person(images, W, H)
    np.testing.assert_array_equal(frame.pose.image[:, :4], images[main])
    np.testing.assert_array_equal(frame.pose.world, worlds[main])
    assert (frame.pose.people, frame.pose.others_height) == (n, others_height)
    if mask is not None and main == 0:
        np.testing.assert_array_equal(frame.pose.mask, mask)
    else:
        assert frame.pose.mask is None  # no mask sent, or it was another person's than the main one


def test_the_main_person_is_chosen_as_the_estimator_chooses_whatever_the_order():
    rng = np.random.default_rng(7)
    small, big = person(rng, 0.3, (0.2, 0.5)), person(rng, 0.8, (0.6, 0.5))
    for order in ((small, big), (big, small)):
        landmarks = [[SimpleNamespace(x=x, y=y, z=z, visibility=v, presence=0.9) for x, y, z, v in im]
                     for im, _ in order]
        world = [[SimpleNamespace(x=x, y=y, z=z) for x, y, z in wo] for _, wo in order]
        estimated = pose_from_result(SimpleNamespace(pose_landmarks=landmarks, pose_world_landmarks=world,
                                                     segmentation_masks=None), 1.0, W, H)
        sent = parse_frame(encode_frame(3, 1000.0, np.array([i for i, _ in order]), np.array([w for _, w in order])),
                           W, H).pose
        np.testing.assert_array_equal(sent.image[:, :4], big[0])
        np.testing.assert_array_equal(sent.image[:, :4], estimated.image[:, :4])
        np.testing.assert_array_equal(sent.world, estimated.world)
        assert sent.people == estimated.people == 2
        assert sent.others_height == estimated.others_height and 0.2 < sent.others_height < 0.6


# --- refusals ------------------------------------------------------------------------------------

def header_changed(offset: int, value: int) -> bytes:
    data = bytearray(one())
    data[offset] = value
    return bytes(data)


def mask_runs(h: int, w: int, runs: list[tuple[int, int, int]]) -> bytes:
    """A valid frame's bytes with the mask part replaced by these dimensions and runs."""
    data = one(mask=np.ones((2, 2)))
    at = len(data) - 6 - 2 * 6
    return data[:at] + np.array([h, w, len(runs), *itertools.chain(*runs)], "<u2").tobytes()


def set_value(index, value):
    def edit(a):
        a[index] = value
    return edit


BAD = {
    "too_large": lambda: one() + bytes(MAX_MESSAGE_BYTES),
    "short header": lambda: one()[:10],
    "one byte missing": lambda: one()[:-1],
    "one byte extra": lambda: one() + b"\0",
    "mask cut short": lambda: one(mask=np.ones((4, 4)))[:-3],
    "version": lambda: header_changed(0, 2),
    "unknown flag": lambda: header_changed(1, 2),
    "reserved byte": lambda: header_changed(3, 1),
    "three people": lambda: encode_frame(1, 40.0, *people(np.random.default_rng(1), 3)),
    "time nan": lambda: one(t_ms=float("nan")),
    "time negative": lambda: one(t_ms=-5.0),
    "mask without a person": lambda: encode_frame(1, 40.0, np.zeros((0, 33, 4)), np.zeros((0, 33, 3)), np.ones((2, 2))),
    "nan image": lambda: one(image=set_value((5, 0), np.nan)),
    "inf world": lambda: one(world=set_value((5, 2), np.inf)),
    "image far off": lambda: one(image=set_value((5, 1), 10.5)),
    "depth far off": lambda: one(image=set_value((5, 2), -11.0)),
    "visibility below 0": lambda: one(image=set_value((5, 3), -0.01)),
    "visibility over 1": lambda: one(image=set_value((5, 3), 1.01)),
    "world far off": lambda: one(world=set_value((5, 0), 4.5)),
    "empty mask": lambda: mask_runs(0, 10, []),
    "mask side over 4096": lambda: mask_runs(4097, 1, []),
    "mask too many pixels": lambda: mask_runs(4000, 4000, []),
    "run below the mask": lambda: mask_runs(10, 10, [(10, 0, 5)]),
    "run past the edge": lambda: mask_runs(10, 10, [(3, 5, 11)]),
    "run backwards": lambda: mask_runs(10, 10, [(3, 5, 5)]),
}
REASONS = {
    "too_large": "too_large", "short header": "length", "one byte missing": "length", "one byte extra": "length",
    "mask cut short": "length", "version": "version", "unknown flag": "header", "reserved byte": "header",
    "three people": "people", "time nan": "time", "time negative": "time", "mask without a person": "mask",
    "nan image": "not_finite", "inf world": "not_finite", "image far off": "image_range",
    "depth far off": "image_range", "visibility below 0": "visibility", "visibility over 1": "visibility",
    "world far off": "world_range", "empty mask": "mask_size", "mask side over 4096": "mask_size",
    "mask too many pixels": "mask_size", "run below the mask": "mask_runs", "run past the edge": "mask_runs",
    "run backwards": "mask_runs",
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_frame_is_refused_with_its_reason(case):
    with pytest.raises(BadFrame) as refused:
        parse_frame(BAD[case](), W, H)
    assert refused.value.reason == REASONS[case] and str(refused.value)


def test_the_valid_neighbours_of_the_bad_cases_pass():
    """The limits are where they say: the edges themselves are accepted."""
    assert parse_frame(one(image=set_value((5, 3), 1.0), world=set_value((5, 0), -4.0)), W, H).pose is not None
    assert parse_frame(mask_runs(10, 10, [(9, 0, 10)]), W, H).pose.mask.sum() == 10
    assert parse_frame(mask_runs(1080, 1920, []), W, H).pose.mask.shape == (1080, 1920)
    assert parse_frame(encode_frame(1, 0.0, *people(np.random.default_rng(2), 2)), W, H).pose.people == 2


# --- the gate --------------------------------------------------------------------------------------

class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_the_gate_drops_frames_whose_time_does_not_go_forward_and_counts_them():
    gate = FrameGate(W, H, clock=Clock())
    assert gate.admit(one(1, 1000.0)).seq == 1
    assert gate.admit(one(2, 1000.0)) is None  # the same time
    assert gate.admit(one(3, 990.0)) is None  # backwards
    assert gate.admit(one(4, 1001.0)).seq == 4
    assert gate.admit(b"\x07" + bytes(20)) is None
    assert gate.dropped == {"time_order": 2, "version": 1} and gate.accepted == 2
    assert gate.last_drop.reason == "version" and "version 7" in str(gate.last_drop)


def test_the_gate_judges_at_most_60_frames_in_any_second():
    clock = Clock()
    gate = FrameGate(W, H, clock=clock)
    t_ms = itertools.count(0.0, 5.0)
    for _ in range(60):  # a burst of 60 at once passes: 60 in a second
        assert gate.admit(one(t_ms=next(t_ms))) is not None
    assert gate.admit(one(t_ms=next(t_ms))) is None and gate.dropped == {"too_fast": 1}
    clock.now += 0.5
    assert gate.admit(one(t_ms=next(t_ms))) is None  # still the same second
    clock.now += 0.51
    assert gate.admit(one(t_ms=next(t_ms))) is not None  # the burst has left the window
    accepted = 0
    for _ in range(300):  # a client sending 100 frames a second gets 60 of each second judged
        clock.now += 0.01
        accepted += gate.admit(one(t_ms=next(t_ms))) is not None
    assert 178 <= accepted <= 182


# --- through the wire, judged as the camera path judges ------------------------------------------

def test_landmarks_that_crossed_the_wire_are_judged_as_the_camera_path_judges_them():
    series = PoseSeries.load(FIXTURES / "squat_side_formfit.full.npz")  # some frames with nobody found
    camera = LiveCoach("squat", estimator=ReplayEstimator(series), clock=ticks())
    browser = LandmarkCoach("squat", series.width, series.height, clock=ticks())
    clock = Clock()
    gate = FrameGate(series.width, series.height, clock=clock)
    frame = np.zeros((series.height, series.width, 3), np.uint8)
    sizes = []
    for i, t in enumerate(series.t_s):
        clock.now = float(t)  # frames arrive as the camera made them
        pose = series.pose(i)
        data = encode_frame(i, float(t) * 1000, pose.image[None] if pose else np.zeros((0, 33, 4)),
                            pose.world[None] if pose else np.zeros((0, 33, 3)))
        sent = gate.admit(data)
        camera.process(frame, sent.t_s)
        snap = browser.add(sent.pose, sent.t_s)
        assert repr(snap) == repr(camera.snapshot())
        sizes.append(len(json.dumps(reply(sent.seq, snap), separators=(",", ":")).encode()))
    assert gate.accepted == len(series) and not gate.dropped
    same_analysis(camera.finish(), browser.finish(), presence=False)
    # a reply in a set ~200 bytes; the countdown's and the rest's carry their message, a long cue said aloud more
    assert np.median(sizes) <= 300 and max(sizes) <= 380


def test_a_mask_that_crossed_the_wire_gives_the_same_back_outline():
    from synthetic_body import H as SH, W as SW, seated

    def pose(t):
        return seated(t, lean_deg=30 + 10 * np.sin(t), curl=0.5)

    camera = LiveCoach("hamstring_stretch_seated", estimator=SimpleNamespace(detect=lambda rgb, t: pose(t),
                                                                            close=lambda: None), clock=ticks())
    browser = LandmarkCoach("hamstring_stretch_seated", SW, SH, clock=ticks())
    frame = np.zeros((SH, SW, 3), np.uint8)
    for i, t in enumerate(np.arange(0, 4, 0.1)):
        p = pose(float(t))
        data = encode_frame(i, float(t) * 1000, p.image[None], p.world[None], p.mask)
        assert len(data) <= MAX_MESSAGE_BYTES
        sent = parse_frame(data, SW, SH)
        np.testing.assert_array_equal(sent.pose.mask, p.mask)
        camera.process(frame, sent.t_s)
        assert repr(browser.add(sent.pose, sent.t_s)) == repr(camera.snapshot())
    analysis = browser.finish()
    assert all(o is not None for o in analysis.outlines)
    same_analysis(camera.finish(), analysis, presence=False)


# --- the reply ---------------------------------------------------------------------------------

def test_the_reply_carries_what_the_page_draws_as_small_json():
    series = PoseSeries.load(FIXTURES / "legraise_supine_dk2.full.npz")  # dk2 bends its knee: a fault shown
    plan = WorkoutPlan("reps", sets=3, target=10, countdown_s=2)
    coach = LandmarkCoach("straight_leg_raise", series.width, series.height, plan=plan)
    replies = [reply(i, coach.add(series.pose(i), float(t))) for i, t in enumerate(series.t_s)]
    assert {r["tone"] for r in replies} >= {"scoring", "fault"}
    last = replies[-1]
    assert last["seq"] == len(series) - 1 and last["counter"] == "3 / 10" and last["set"] == "1 of 3"
    assert last["phase"] == "set" and last["banner"] is None and last["limit"] is False and "message" not in last
    assert replies[0]["message"] == "Get into position: counting starts in 2 s"
    assert replies[0]["banner"] == "Starting in 2" and replies[0]["say"] == [1, "Get into position. Counting "
                                                                                "starts in 2 seconds"]
    assert all(isinstance(v, int) for r in replies for v in r["angles"].values())
    assert any(r["cue"] for r in replies)
    assert json.loads(json.dumps(replies)) == replies  # JSON as it is: no NaN, no tuples
