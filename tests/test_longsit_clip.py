"""The seated long-sit on a real clip (hamstring_longsit_floor_side_acapapap.mp4, labels-dev.json): one leg
straight, the other knee bent up on purpose; a rounded reach to the toes at 21.3–23.0 s, then the stretch held
with a straight back from 26.0 s to the end (she sits up to talk for two seconds in the middle).

The unit test replays the landmarks and back outlines recorded from the clip (tests/fixtures, 20–41 s); the
integration test runs the real model on the whole clip."""

import json

import numpy as np
import pytest

from conftest import FIXTURES, VIDEOS, clip
from formcheck.analyze import analyze_video
from formcheck.pose import PoseSeries
from formcheck.session import Session
from formcheck.silhouette import BackOutline

NAME = "hamstring_longsit_floor_side_acapapap"
LABEL = json.loads((VIDEOS / "labels-dev.json").read_text())[f"{NAME}.mp4"]
HOLD = tuple(LABEL["holds_s"][0])  # (26.0, 40.75)
REACH = (21.3, 23.0)  # "FORWARD REACH WITH A ROUNDED BACK" in the label's phases
EDGE_S = 0.3  # labels are made by eye, ±0.3 s


def overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def assert_as_labelled(result) -> None:
    # one hold: the straight leg's (the near, right one), covering the labelled hold, not starting long before it
    assert len(result.holds) == 1, result.holds
    hold = result.holds[0]
    assert hold.side == "right"
    assert overlap((hold.start_s, hold.end_s), HOLD) >= 0.8 * (HOLD[1] - HOLD[0])
    assert hold.start_s >= HOLD[0] - 1.0
    # the other knee bent on purpose is no fault, and the straight back is not called rounded
    assert not [f for f in result.faults if overlap((f.start_s, f.end_s), HOLD) > 0], result.faults
    # the rounded reach is back_rounded, and nothing else is
    rounded = [f for f in result.faults if f.code == "back_rounded"]
    assert rounded and all(overlap((f.start_s, f.end_s), (REACH[0] - EDGE_S, REACH[1] + EDGE_S)) > 0 for f in rounded)
    assert sum(f.end_s - f.start_s for f in rounded) >= 0.5 * (REACH[1] - REACH[0])
    assert {f.code for f in result.faults} == {"back_rounded"}


def test_recorded_long_sit_holds_the_straight_leg_and_flags_only_the_rounded_reach():
    series = PoseSeries.load(FIXTURES / f"{NAME}.full.npz")
    back = np.load(FIXTURES / f"{NAME}.back.npz")["back"]
    session = Session("hamstring_stretch_seated", series.width, series.height)
    for i in range(len(series)):
        bow, curl = (float(v) for v in back[i])
        outline = BackOutline(np.empty((0, 2)), bow, curl) if np.isfinite(bow) else None
        session.add(series.pose(i), float(series.t_s[i]), outline)
    assert_as_labelled(session.finish().result)


@pytest.mark.integration
def test_real_long_sit_as_labelled():
    analysis, _ = analyze_video(clip(f"{NAME}.mp4"), "hamstring_stretch_seated")
    assert_as_labelled(analysis.result)
