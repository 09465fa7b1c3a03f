"""Leg identity over time: MediaPipe's left/right swaps undone by continuity, live and offline."""

import numpy as np
import pytest

from conftest import FIXTURES
from formcheck.legs import PARTS, LegTracker, swap_parts, track_series
from formcheck.pose import PoseSeries

SLR = FIXTURES / "slr_single_supine_side_acapapap.full.npz"


def scrambled(series: PoseSeries, seed: int, parts_alone: bool) -> tuple[PoseSeries, np.ndarray]:
    """The series with MediaPipe-like swaps added: whole legs (or single parts) exchanged over random spans."""
    rng = np.random.default_rng(seed)
    swaps = np.zeros((len(series), len(PARTS)), bool)
    for _ in range(12):
        start = int(rng.integers(0, len(series) - 1))
        stop = start + int(rng.integers(1, 15))
        parts = [int(rng.integers(0, len(PARTS)))] if parts_alone else list(range(len(PARTS)))
        swaps[start:stop, parts] ^= True
    image, world = series.image.copy(), series.world.copy()
    for i in range(len(series)):
        image[i], world[i] = swap_parts(image[i], tuple(swaps[i])), swap_parts(world[i], tuple(swaps[i]))
    return PoseSeries(series.t_s, image, world, series.people, series.others_height, series.width, series.height), swaps


def feet(series: PoseSeries) -> np.ndarray:
    return series.image[:, [27, 28], :2]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("parts_alone", [False, True])
def test_offline_tracking_undoes_added_swaps(seed, parts_alone):
    """Whatever MediaPipe said, the tracked series is the same once more swaps are added on top of it."""
    clean = track_series(PoseSeries.load(SLR))
    messy, swaps = scrambled(clean, seed, parts_alone)
    assert swaps.any()
    again = track_series(messy)
    assert np.allclose(feet(again), feet(clean), equal_nan=True)
    assert np.allclose(again.image[:, [25, 26]], clean.image[:, [25, 26]], equal_nan=True, atol=0.02)


def test_live_tracking_follows_each_leg_through_swaps():
    clean = track_series(PoseSeries.load(SLR))
    messy, swaps = scrambled(clean, 7, parts_alone=False)
    tracker = LegTracker(clean.width, clean.height)
    tracked = [tracker.track(messy.pose(i)) for i in range(len(messy))]
    same = [np.allclose(p.image[[27, 28], :2], clean.image[i, [27, 28], :2]) for i, p in enumerate(tracked) if p]
    assert np.mean(same) > 0.97  # live starts with MediaPipe's names, which the clean series keeps here


def test_the_working_foot_is_one_leg_all_through_the_raise():
    """The raise (14.3–21.0 s): the tracked left foot is the one that goes up, every frame the feet are apart."""
    s = track_series(PoseSeries.load(SLR))
    top = (s.t_s >= 17.45) & (s.t_s <= 17.8)  # the top hold, MediaPipe's feet well apart
    y = s.image[top][:, [27, 28], 1] * s.height
    assert np.all(y[:, 0] < y[:, 1] - 100)  # left foot far above the right one (y points down)
