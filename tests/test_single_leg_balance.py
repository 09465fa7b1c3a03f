"""The single-leg balance checker: stance intervals, touch-down, refusals, cuts; synthetic and recorded."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, VIDEOS, standing
from formcheck.kinematics import Kinematics
from formcheck.exercises import make_checker
from formcheck.pose import PoseSeries
from formcheck.session import Session, analyze_series
from formcheck.smoothing import zero_phase

FPS = 30.0


def run(records, params=None):
    checker = make_checker("single_leg_balance", params)
    states = [checker.update(k) for k in records]
    return checker.finish(), states


def stance(up_s, down_s, end_s=None, lift=0.5, **extra):
    end_s = end_s if end_s is not None else down_s + 1.0
    return [standing(float(t), lift if up_s <= t < down_s else 0.0, **extra) for t in np.arange(0, end_s, 1 / FPS)]


def test_one_stance_from_foot_off_to_touch_down():
    result, states = run(stance(1.0, 6.0))
    assert len(result.holds) == 1
    hold = result.holds[0]
    assert hold.start_s == pytest.approx(1.0, abs=0.04) and hold.end_s == pytest.approx(6.0, abs=0.04)
    assert hold.side == "right"  # the left foot is up: standing on the right leg
    assert hold.correct_s == pytest.approx(hold.duration_s)
    assert hold.metrics["sway_index"] == 0.0  # the synthetic hips never move
    assert max(s.hold_s for s in states) == pytest.approx(5.0, abs=0.05)
    assert [f.code for f in result.faults] == ["touch_down"]


def test_a_brief_toe_tap_shorter_than_the_debounce_does_not_end_the_hold():
    records = [standing(r.t_s, 0.0 if 3.0 <= r.t_s < 3.1 else r.ankle_lift_left) for r in stance(1.0, 6.0)]
    result, _ = run(records)
    assert len(result.holds) == 1


def test_weight_shift_below_the_on_threshold_is_no_stance():
    result, _ = run(stance(1.0, 6.0, lift=0.08))
    assert result.holds == []


def test_stance_on_the_left_leg():
    result, _ = run(stance(1.0, 3.0, lift=-0.4))
    assert [h.side for h in result.holds] == ["left"]


def test_leaving_the_picture_ends_the_hold_and_is_refused():
    records = [standing(r.t_s, r.ankle_lift_left, body_in_frame=not (4.0 <= r.t_s < 5.0)) for r in stance(1.0, 8.0)]
    result, _ = run(records)
    assert [(round(h.start_s, 1), round(h.end_s, 1)) for h in result.holds] == [(1.0, 4.0), (5.0, 8.0)]
    assert [(e.code, round(e.start_s, 1), round(e.end_s, 1)) for e in result.refused] == [("not_full_body", 4.0, 5.0)]


def test_a_shot_cut_ends_the_hold():
    records = [standing(r.t_s, r.ankle_lift_left, torso_px=200.0 if r.t_s < 4.0 else 320.0) for r in stance(1.0, 8.0)]
    result, _ = run(records)
    assert len(result.holds) == 2 and result.holds[0].end_s == pytest.approx(4.0, abs=0.05)


def test_moving_standing_foot_fires_hopping_and_reduces_correct_time():
    records = [standing(r.t_s, r.ankle_lift_left, ankle_right_x=320.0 + (100.0 if 3.0 <= r.t_s < 4.0 else 0.0))
               for r in stance(1.0, 6.0)]
    result, _ = run(records)
    hold = result.holds[0]
    assert "hopping" in {f.code for f in result.faults}
    assert hold.correct_s == pytest.approx(hold.duration_s - 1.0, abs=0.1)


def test_second_person_in_view_is_refused():
    result, _ = run(stance(1.0, 6.0, people=2, others_height=0.9))
    assert result.holds == [] and {e.code for e in result.refused} == {"two_people"}


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=2**31 - 1), st.floats(min_value=0.0, max_value=0.03))
def test_foot_jitter_alone_never_starts_a_hold(seed, sd):
    rng = np.random.default_rng(seed)
    records = zero_phase([standing(float(t), rng.normal(0, sd)) for t in np.arange(0, 20, 1 / FPS)])
    result, _ = run(records)
    assert result.holds == []


def test_recorded_tree_pose_stance_matches_the_label():
    labels = json.loads((VIDEOS / "labels-dev.json").read_text())["treepose_sheknows.mp4"]
    (start, end), = labels["single_leg_intervals_s"]
    a = analyze_series(PoseSeries.load(FIXTURES / "treepose_sheknows.full.npz"), "single_leg_balance")
    assert len(a.result.holds) == 1
    hold = a.result.holds[0]
    assert hold.start_s == pytest.approx(start, abs=0.3) and hold.end_s == pytest.approx(end, abs=0.3)


def test_edited_tutorial_close_ups_are_refused_not_scored():
    """treepose_howcast (recorded at the uploads' steady rate) cuts to close-ups: those spans are refused, and
    no hold spans a refusal."""
    result = analyze_series(PoseSeries.load(FIXTURES / "treepose_howcast.full.15fps.npz"),
                            "single_leg_balance").result
    assert any(e.code == "not_full_body" and e.end_s - e.start_s > 2.0 for e in result.refused)
    for hold in result.holds:
        for e in result.refused:
            assert not (e.start_s > hold.start_s + 0.05 and e.end_s < hold.end_s - 0.05)
    assert len(result.holds) >= 3


def test_a_single_frame_with_the_foot_down_ends_the_hold_when_frames_are_sparse():
    """Each frame stands for the time around it: at 2 frames/s one frame with the foot down is ~0.5 s of it,
    beyond the debounce, while the same frame at 30 frames/s is a glitch (the toe-tap test above)."""
    times = np.arange(0.0, 8.0, 0.5)
    result, _ = run([standing(float(t), 0.0 if t < 1.0 or t == 4.0 else 0.5) for t in times])
    assert [(h.start_s, h.end_s) for h in result.holds] == [(1.0, 3.75), (4.5, 7.5)]
    assert result.faults[0].code == "touch_down" and result.faults[0].start_s == 3.75


@pytest.mark.parametrize("fps, jitter", [(24.0, 0.0), (4.0, 0.3), (2.5, 0.0), (2.5, 0.3)])
def test_live_looped_tree_pose_ends_every_stance_at_a_few_frames_a_second(fps, jitter):
    """A loaded server coaches a few frames a second, unevenly (tests/test_several_patients.py): the camera
    looping the recorded tree pose (one ~6 s stance, then ~1 s foot down) must give one hold a loop, not one
    endless hold."""
    series = PoseSeries.load(FIXTURES / "treepose_sheknows.full.npz")
    loop_s = float(series.t_s[-1]) + 0.1
    session = Session("single_leg_balance", series.width, series.height, live=True)
    rng = np.random.default_rng(7)
    t = 0.0
    while t < 10 * loop_s:
        i = max(int(np.searchsorted(series.t_s, t % loop_s, side="right")) - 1, 0)
        session.add(series.pose(i), t)
        t += (1 + rng.uniform(-jitter, jitter)) / fps
    holds = session.finish().result.holds
    assert len(holds) >= 9 and max(h.duration_s for h in holds) < loop_s - 0.3


def test_a_hold_ends_at_the_last_frame_before_a_gap_nobody_watched():
    """No frame for 1.5 s (more than UNWATCHED_GAP_S): the foot may have come down unseen, so the hold ends at
    the last frame seen, and the stance seen after the gap is a hold of its own."""
    times = [t for t in np.arange(0.0, 8.0, 0.25) if not 3.1 < t < 4.6]
    result, _ = run([standing(float(t), 0.0 if t < 1.0 else 0.5) for t in times])
    assert [(h.start_s, h.end_s) for h in result.holds] == [(1.0, 3.0), (4.75, 7.75)]
    assert "touch_down" not in {f.code for f in result.faults}  # not seen, so not claimed


# --- side-on: MediaPipe's leg labels swap; one stance stays one stance, on one leg -------------------------

STANDING_FOOT, FREE_FOOT = (320.0, 600.0), (420.0, 500.0)  # the free foot held behind and up


def side_on(t: float, up: bool = True, swapped: bool = False, free: str = "left") -> Kinematics:
    """A side-on frame standing on one leg (or both feet down); `swapped`: MediaPipe has the legs' names
    the wrong way round, so the other foot reads as the lifted one and the feet's positions trade places."""
    left_free = (free == "left") != swapped
    lift = (0.4 if left_free else -0.4) if up else 0.0
    (lx, ly), (rx, ry) = (FREE_FOOT, STANDING_FOOT) if left_free else (STANDING_FOOT, FREE_FOOT)
    if not up:
        (lx, ly), (rx, ry) = (280.0, 600.0), STANDING_FOOT
    return standing(t, lift, shoulder_spread=0.1, ankle_left_x=lx, ankle_left_y=ly, ankle_right_x=rx,
                    ankle_right_y=ry)


SWAPS = [(2.0, 2.3), (4.0, 4.5), (6.0, 6.2)]


@pytest.mark.parametrize("smoothed", [False, True])
def test_legs_named_the_wrong_way_round_for_moments_do_not_break_the_stance(smoothed):
    """Bursts of swapped labels (0.2–0.5 s) in a 1–9 s stance on the right leg: one hold, on the right leg,
    and the standing foot (the lower one) never seen to hop, though its label moved to the free foot."""
    records = [side_on(float(t), up=1.0 <= t < 9.0, swapped=any(a <= t < b for a, b in SWAPS))
               for t in np.arange(0, 10, 1 / FPS)]
    result, _ = run(zero_phase(records) if smoothed else records)
    assert [h.side for h in result.holds] == ["right"]
    assert result.holds[0].start_s == pytest.approx(1.0, abs=0.1)
    assert result.holds[0].end_s == pytest.approx(9.0, abs=0.1)
    assert "hopping" not in {f.code for f in result.faults}


def test_the_hold_is_on_the_leg_stood_on_most():
    """Labels swapped for most of the first second: the hold still goes to the leg of the other six."""
    records = [side_on(float(t), up=1.0 <= t < 8.0, swapped=1.0 <= t < 1.9) for t in np.arange(0, 9, 1 / FPS)]
    result, _ = run(records)
    assert [h.side for h in result.holds] == ["right"]


def test_changing_legs_through_both_feet_down_is_two_holds_one_per_leg():
    records = [side_on(float(t), up=not 4.0 <= t < 4.6, free="left" if t < 4.0 else "right")
               for t in np.arange(0, 9, 1 / FPS)]
    result, _ = run(records)
    assert [h.side for h in result.holds] == ["right", "left"]
    assert result.holds[0].end_s == pytest.approx(4.0, abs=0.05)
    assert result.holds[1].start_s == pytest.approx(4.6, abs=0.05)


def test_no_touch_down_is_reported_for_a_lift_too_short_to_be_a_hold():
    result, _ = run(stance(1.0, 1.3))
    assert result.holds == [] and result.faults == []


def test_recorded_side_on_supported_stance_stays_one_stance_on_one_leg():
    """kneeflex_standing_kan10 6.0–11.5 s (side-on, a hand on the rail, standing on the far, right leg): the free
    foot hovers a few centimetres off the floor behind the standing one, then curls up; it never touches
    down (by eye, frame by frame). One hold from first frame to last, on the right leg, offline and live."""
    series = PoseSeries.load(FIXTURES / "kneeflex_standing_kan10.full.npz")
    for live in (False, True):
        holds = analyze_series(series, "single_leg_balance", live=live).result.holds
        assert [h.side for h in holds] == ["right"]
        assert holds[0].start_s == pytest.approx(series.t_s[0], abs=0.1)
        assert holds[0].end_s == pytest.approx(series.t_s[-1], abs=0.1)
