"""The how-to demos (formcheck/demos/, formcheck/replay.py): small landmark series, drawn as a looping stick
figure that fills its picture; no frame of any clip."""

import io

import numpy as np
from PIL import Image

from formcheck.exercises import CATALOGUE
from formcheck.replay import DEMOS, demo_frames, demo_gif, demo_series


def test_demo_series_are_small_derived_landmarks_of_catalogue_exercises():
    files = sorted(DEMOS.glob("*.npz"))
    assert len(files) >= 6 and all(f.stem in CATALOGUE for f in files)
    assert all(f.stat().st_size < 60_000 for f in files)  # landmarks only, kept small
    for f in files:
        series = demo_series(f.stem)
        assert len(series) >= 30 and series.t_s[0] == 0 and np.all(np.diff(series.t_s) > 0)
        assert not np.any(series.world)  # image landmarks only
    assert demo_series("no_such_exercise") is None


def test_a_demo_is_a_looping_animation_of_the_figure_filling_its_picture():
    series = demo_series("straight_leg_raise")
    frames = demo_frames(series, size=200)
    assert len(frames) == len(series) and frames[0].shape == (200, 200, 3)
    drawn = np.array([(f != f[0, 0]).any(axis=2) for f in frames]).any(axis=0)  # every pixel the figure touched
    _, xs = np.nonzero(drawn)
    assert xs.max() - xs.min() > 0.7 * 200  # the movement spans the picture (framed on the whole series)
    gif = Image.open(io.BytesIO(demo_gif("straight_leg_raise", size=200)))
    assert gif.format == "GIF" and gif.size == (200, 200) and gif.n_frames == len(series)
    assert gif.info["loop"] == 0  # loops for ever
    assert demo_gif("no_such_exercise") is None
