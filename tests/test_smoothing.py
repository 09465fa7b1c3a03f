"""Smoothing removes jitter without moving events in time (offline) and with little lag (live)."""

import math

import numpy as np

from conftest import lying, standing
from formcheck.smoothing import LiveSmoother, OneEuro, zero_phase


def test_zero_phase_removes_jitter_and_keeps_the_step_in_place():
    rng = np.random.default_rng(1)
    t = np.arange(0, 4, 1 / 30)
    clean = np.where(t >= 2.0, 90.0, 10.0)
    records = [lying(float(ti), v + rng.normal(0, 3)) for ti, v in zip(t, clean)]
    smoothed = np.array([180 - r.hip_left_deg for r in zero_phase(records)])
    raw = np.array([180 - r.hip_left_deg for r in records])
    quiet = t < 1.5
    assert smoothed[quiet].std() < 0.5 * raw[quiet].std()
    half_way = t[np.argmax(smoothed > 50.0)]
    assert abs(half_way - 2.0) < 1 / 30 + 1e-9  # zero phase: the step has not moved


def test_gaps_stay_gaps():
    records = [lying(i / 30, 10.0) for i in range(60)]
    records[20] = lying(20 / 30, float("nan"))
    out = zero_phase(records)
    assert math.isnan(out[20].hip_left_deg) and not math.isnan(out[19].hip_left_deg)


def test_one_euro_is_steady_when_still_and_follows_fast_moves():
    f = OneEuro()
    rng = np.random.default_rng(2)
    still = [f(10 + rng.normal(0, 3), i / 30) for i in range(90)]
    assert np.std(still[30:]) < 1.5
    moved = [f(90.0, 3 + i / 30) for i in range(15)]
    assert moved[-1] > 80.0  # within half a second


def test_live_smoother_filters_each_field():
    s = LiveSmoother()
    out = [s(lying(i / 30, 10.0 + (5 if i % 2 else -5))) for i in range(60)]
    assert abs((180 - out[-1].hip_left_deg) - 10.0) < 2.0


def test_live_smoother_follows_a_foot_put_down_at_a_few_frames_a_second():
    """Body-length ratios move ~1/s where angles turn ~100°/s: each field's filter adapts in its own unit,
    so a foot coming down a leg length reads as down by the next frame (3 frames/s), while a still foot's
    jitter (0.02 leg lengths) is smoothed away."""
    s = LiveSmoother()
    lift = [s(standing(i / 3, 1.0 if i < 6 else 0.0)).ankle_lift_left for i in range(9)]
    assert lift[7] < 0.05  # lift_off of the balance checker, one frame after the first one down
    rng = np.random.default_rng(3)
    s = LiveSmoother()
    still = [s(standing(i / 30, rng.normal(0, 0.02))).ankle_lift_left for i in range(300)]
    assert np.std(still[30:]) < 0.5 * 0.02


def test_one_euro_follows_a_value_seen_a_second_later():
    """A frame a second after the last (a busy server): the low-pass's exact response over that second has
    long settled, where the paper's approximation dt / (dt + τ) still kept a few per cent of the old value."""
    f = OneEuro()
    f(10.0, 0.0)
    f(10.0, 0.04)
    assert abs(f(90.0, 1.0) - 90.0) < 0.01 * 80
