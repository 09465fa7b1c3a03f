"""Reps survive brief dropouts: the person lost for single frames, or up to 0.5 s, inside a rep whose bottom and
return were seen; longer refusals still drop the half-done rep. Smoothing (offline and live), the checker's
refusal timing, and a real barbell squat that MediaPipe loses for single frames, blanked further."""

import math

import numpy as np
import pytest

from conftest import FIXTURES, standing
from formcheck.exercises import make_checker
from formcheck.exercises.checker import REFUSAL_RESET_S
from formcheck.kinematics import Kinematics
from formcheck.pose import PoseSeries
from formcheck.session import analyze_series
from formcheck.smoothing import GAP_BRIDGE_S, Deglitch, LiveSmoother, OneEuro, zero_phase


def test_the_smoothing_bridges_what_the_checker_survives():
    assert GAP_BRIDGE_S == REFUSAL_RESET_S


# --- smoothing ------------------------------------------------------------------------------------

def knee_series(values, fps=30.0):
    """Standing frames with the given left-knee angles; NaN = nobody found in that frame."""
    return [standing(i / fps, 0.0, knee_left_deg=v) if math.isfinite(v) else Kinematics(t_s=i / fps)
            for i, v in enumerate(values)]


def test_offline_a_glitch_between_single_frame_dropouts_is_smoothed_and_the_dropouts_stay_unseen():
    """A knee bending steadily, the person lost every fourth frame, one frame reading 50° off in between: the
    runs between dropouts are too short to filter on their own, so the filter runs across the dropouts."""
    t = np.arange(90) / 30
    knee = 170 - 30 * t
    values = knee.copy()
    values[3::4] = np.nan
    values[45] += 50
    out = np.array([k.knee_left_deg for k in zero_phase(knee_series(values))])
    assert np.all(np.isnan(out[3::4]))  # frames nobody was seen in are not made up
    seen = np.isfinite(values)
    assert np.max(np.abs(out[seen] - knee[seen])[5:-5]) < 3.0


def test_offline_a_gap_longer_than_the_bridge_is_not_filled_across():
    """The person away for 1 s: what they did then is unknown, so a step across the gap stays a step."""
    values = np.array([170.0] * 30 + [np.nan] * 30 + [90.0] * 30)
    out = np.array([k.knee_left_deg for k in zero_phase(knee_series(values))])
    assert out[29] == pytest.approx(170, abs=0.5) and out[60] == pytest.approx(90, abs=0.5)


def test_offline_a_frame_nobody_was_in_does_not_pull_its_neighbours():
    """No person: visibilities read 0, which is no measurement; they must not drag the seen frames down."""
    records = knee_series([170.0] * 20 + [math.nan] + [170.0] * 20)
    out = zero_phase(records)
    assert out[20] == records[20]
    assert min(k.vis_leg_left for k in out if k.present) == pytest.approx(0.9, abs=1e-6)


def test_live_a_single_frame_dropout_keeps_the_filter_going():
    """After a one-frame gap the next value is filtered as any other: jitter right after a dropout is not let
    through raw. After more than the bridge the filter starts afresh from the new value."""
    f = OneEuro()
    for i in range(30):
        f(100.0, i / 30)
    assert math.isnan(f(math.nan, 1.0))
    assert f(105.0, 31 / 30) < 104.0  # restarted, the filter would give 105
    g = OneEuro()
    for i in range(30):
        g(100.0, i / 30)
    assert g(105.0, 29 / 30 + GAP_BRIDGE_S + 0.05) == 105.0


def test_live_a_one_frame_glitch_is_dropped_at_camera_rate_only():
    d = Deglitch()
    out = [d(v, i / 30) for i, v in enumerate([100, 101, 150, 103, 104])]
    assert out[2] <= 103  # the 50° glitch never comes out
    sparse = Deglitch()
    assert [sparse(v, i / 3) for i, v in enumerate([100, 101, 150])] == [100, 101, 150]  # 3 frames/s: movement


def test_live_smoother_passes_a_frame_nobody_was_in_and_keeps_its_filters():
    s = LiveSmoother()
    for i in range(30):
        s(standing(i / 30, 0.0, knee_left_deg=100.0))
    empty = Kinematics(t_s=1.0)
    assert s(empty) == empty
    assert s(standing(31 / 30, 0.0, knee_left_deg=160.0)).knee_left_deg < 130.0


# --- the checker: how long a refusal may last inside a rep -----------------------------------------

def squats_with_no_person(fps, lost_frames, reps=3, depth=90.0, period=2.5):
    """Squats (knee flexion 0 → depth → 0 every `period`); the person is lost for `lost_frames` frames in the
    descent of the second squat, its bottom and its return seen."""
    out = []
    for i, t in enumerate(np.arange(0, reps * period + 1.0, 1 / fps)):
        d = 0.5 * (1 - np.cos(2 * np.pi * min(t, reps * period) / period))
        k = standing(float(t), 0.0, shoulder_spread=0.1, knee_left_deg=178 - depth * d, knee_right_deg=178 - depth * d)
        first = int(round((period + 0.3) * fps))
        out.append(Kinematics(t_s=float(t)) if first <= i < first + lost_frames else k)
    return out


@pytest.mark.parametrize("fps", [25.0, 30.0])
def test_a_rep_survives_a_refusal_of_up_to_half_a_second_not_longer(fps):
    """A refusal is timed from its first frame to its latest: at 25 frames/s 13 frames lost (0.48 s from the
    first to the last) survive and 14 (0.52 s) drop the half-done rep; at 30 frames/s 15 (0.47 s) survive and
    16 (0.50 s) do not."""
    longest = math.ceil(REFUSAL_RESET_S * fps - 1e-9)
    for lost, reps in ((1, 3), (longest, 3), (longest + 1, 2)):
        checker = make_checker("squat")
        for k in squats_with_no_person(fps, lost):
            checker.update(k)
        result = checker.finish()
        assert len(result.reps) == reps, (fps, lost)
        if reps == 2:
            assert [r.peak_s for r in result.reps] == pytest.approx([1.25, 6.25], abs=0.05)


# --- a real barbell squat: MediaPipe loses the person for single frames, the angles are noisy ---------

FORMFIT_BOTTOMS_S = [2.2, 4.5, 6.7]  # by eye: 3 squats


def blanked(series: PoseSeries, spans) -> PoseSeries:
    """The series with nobody found in the frames of each (from, to) span."""
    people, image, world = series.people.copy(), series.image.copy(), series.world.copy()
    for start, stop in spans:
        lost = (series.t_s >= start - 1e-6) & (series.t_s <= stop + 1e-6)
        people[lost], image[lost], world[lost] = 0, np.nan, np.nan
    return PoseSeries(series.t_s, image, world, people, series.others_height, series.width, series.height)


@pytest.fixture(scope="module")
def barbell_squat():
    return PoseSeries.load(FIXTURES / "squat_side_formfit.full.npz")


def peaks(series, live):
    return [r.peak_s for r in analyze_series(series, "squat", live=live).result.reps]


@pytest.mark.parametrize("live", [False, True])
def test_recorded_barbell_squat_counts_through_its_single_frame_dropouts(barbell_squat, live):
    lost = barbell_squat.t_s[barbell_squat.people == 0]
    assert np.sum((lost > 5.8) & (lost < 7.6)) >= 3  # the third squat: the person lost for single frames
    assert peaks(barbell_squat, live) == pytest.approx(FORMFIT_BOTTOMS_S, abs=0.4)


@pytest.mark.parametrize("live", [False, True])
def test_recorded_barbell_squat_survives_more_dropouts_and_half_a_second_lost(barbell_squat, live):
    """Five more single frames lost inside the second squat; then, instead, its whole descent lost for
    0.5 s (15 frames at 30 frames/s, 0.47 s from the first to the last): its bottom and return were seen, so it
    counts."""
    singles = blanked(barbell_squat, [(t, t) for t in (3.8, 4.0, 4.2, 4.4, 4.67)])
    assert peaks(singles, live) == pytest.approx(FORMFIT_BOTTOMS_S, abs=0.4)
    half_second = blanked(barbell_squat, [(3.75, 4.25)])
    assert np.sum((barbell_squat.t_s > 3.74) & (barbell_squat.t_s < 4.26)) == 15
    assert peaks(half_second, live) == pytest.approx(FORMFIT_BOTTOMS_S, abs=0.4)


@pytest.mark.parametrize("live", [False, True])
def test_recorded_barbell_squat_lost_for_longer_drops_the_half_done_rep(barbell_squat, live):
    longer = blanked(barbell_squat, [(3.75, 4.3)])  # 17 frames: 0.53 s from the first to the last
    assert peaks(longer, live) == pytest.approx([FORMFIT_BOTTOMS_S[0], FORMFIT_BOTTOMS_S[2]], abs=0.4)
