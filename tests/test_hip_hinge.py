"""Hip hinge vs back rounding: the silhouette measure on synthetic masks, the checker on synthetic
kinematics, and both on the real side-on clips (real model, real masks)."""

import json

import numpy as np
import pytest

from conftest import VIDEOS, clip, standing
from formcheck.analyze import analyze_video
from formcheck.exercises import make_checker
from formcheck.pose import (L_EAR, L_FOOT, L_HEEL, L_HIP, L_SHOULDER, L_WRIST, N_LANDMARKS, NOSE, R_EAR, R_FOOT,
                            R_HEEL, R_HIP, R_SHOULDER, Pose)
from formcheck.kinematics import facing_sign
from formcheck.silhouette import back_outline

W, H = 400, 300


def bent_over(bump_px: int = 0, mirror: bool = False):
    """A person bent 90° at the hips, facing +x: hips at x=100, shoulders at x=300, back on top (y≈110).
    `bump_px` bows the back upwards in the middle (a rounded back)."""
    mask = np.zeros((H, W), np.float32)
    mask[110:170, 100:300] = 1.0  # the trunk, 60 px thick; the landmarks run along its middle (y=140)
    if bump_px:
        xs = np.arange(100, 300)
        top = (110 - bump_px * np.sin(np.pi * (xs - 100) / 200)).astype(int)
        for x, y in zip(xs, top):
            mask[y:110, x] = 1.0
    mask[170:290, 90:115] = 1.0  # legs
    img = np.zeros((N_LANDMARKS, 5), np.float32)
    img[:, 3:] = 0.99
    for i, (x, y) in {L_HIP: (100, 140), R_HIP: (100, 140), L_SHOULDER: (300, 140), R_SHOULDER: (300, 140),
                      NOSE: (330, 150), L_HEEL: (95, 288), R_HEEL: (95, 288), L_FOOT: (130, 290),
                      R_FOOT: (130, 290)}.items():
        img[i, :2] = (x / W, y / H)
    if mirror:
        mask = mask[:, ::-1].copy()
        img[:, 0] = 1.0 - img[:, 0]
    return Pose(0.0, img, np.zeros((N_LANDMARKS, 3), np.float32), 1, mask=mask)


def test_flat_back_has_no_bow():
    outline = back_outline(bent_over(), bent_over().mask)
    assert outline is not None and outline.deviation == pytest.approx(0.0, abs=0.01)
    assert np.all(outline.points[:, 1] < 112)  # the outline is on the back (top), not the belly


@pytest.mark.parametrize("mirror", [False, True])
def test_rounded_back_bows_and_the_back_side_follows_the_facing(mirror):
    pose = bent_over(bump_px=25, mirror=mirror)
    assert facing_sign(pose.image, W) == (-1.0 if mirror else 1.0)
    outline = back_outline(pose, pose.mask)
    # measured between the outline's ends at 15% and 85% of the chord, where the bump is already sin(0.15π) high
    expected = 25 * (1 - np.sin(0.15 * np.pi)) / 200
    assert outline.deviation == pytest.approx(expected, abs=0.01)


def test_no_mask_or_chord_off_the_body_gives_no_outline():
    pose = bent_over()
    assert back_outline(pose, None) is None
    assert back_outline(pose, np.zeros((H, W), np.float32)) is None


def with_head(ear_xy: tuple[int, int], arm_xy: tuple[int, int] | None = None) -> Pose:
    """`bent_over()` with shoulders that reach past their joint, a neck and a head around the ear at `ear_xy`;
    optionally a forearm lying along the back (a hand on the lower back) with its wrist at `arm_xy`."""
    pose = bent_over()
    mask, img = pose.mask.copy(), pose.image.copy()
    mask[110:170, 300:315] = 1.0
    yy, xx = np.mgrid[0:H, 0:W]
    mask[(xx - ear_xy[0]) ** 2 + (yy - ear_xy[1]) ** 2 <= 22 ** 2] = 1.0  # the head
    for f in np.linspace(0, 1, 30):  # the neck, from the top of the shoulders to the head
        cx, cy = 305 + f * (ear_xy[0] - 305), 130 + f * (ear_xy[1] - 130)
        mask[(xx - cx) ** 2 + (yy - cy) ** 2 <= 14 ** 2] = 1.0
    for i in (L_EAR, R_EAR):
        img[i, :2] = (ear_xy[0] / W, ear_xy[1] / H)
    img[NOSE, :2] = ((ear_xy[0] + 12) / W, (ear_xy[1] + 6) / H)
    if arm_xy is not None:
        mask[arm_xy[1] - 8:110, arm_xy[0] - 50:arm_xy[0] + 50] = 1.0  # the forearm across the back
        img[L_WRIST, :2] = (arm_xy[0] / W, arm_xy[1] / H)
    return Pose(0.0, img, pose.world, 1, mask=mask)


def outline_of(pose: Pose):
    return back_outline(pose, pose.mask)


def test_head_in_line_with_a_flat_back_is_not_curled_a_hanging_head_is():
    in_line = outline_of(with_head((345, 140)))
    hanging = outline_of(with_head((318, 200)))
    # the ear ahead of the back's top by its neck: ~34° below the back's line; hanging beneath it, ~80°
    assert in_line.head_curl_deg == pytest.approx(np.degrees(np.arctan2(30, 45)), abs=5)
    assert hanging.head_curl_deg == pytest.approx(np.degrees(np.arctan2(90, 18)), abs=5)
    spec = make_checker("hamstring_stretch_standing").p
    assert in_line.head_curl_deg < spec["head_curl_max_deg"] <= hanging.head_curl_deg
    assert in_line.deviation == pytest.approx(hanging.deviation, abs=0.01)  # the trunk's bow is the same


def test_an_arm_along_the_back_hides_the_back():
    """A hand on the lower back puts the forearm on the outline: the outline then is the arm's, not measured."""
    assert outline_of(with_head((345, 140), arm_xy=(170, 104))) is None
    assert outline_of(with_head((345, 140))) is not None


def hinge_frames(bow_at_depth: float, knee_at_depth: float = 140.0, reps: int = 2, fps: float = 30.0):
    out = []
    for t in np.arange(0, reps * 3.0 + 1.0, 1 / fps):
        depth = 0.5 * (1 - np.cos(2 * np.pi * min(t, reps * 3.0) / 3.0))  # 0 standing … 1 at the bottom
        out.append(standing(float(t), 0.0, shoulder_spread=0.1, hip_left_deg=175 - 90 * depth,
                            hip_right_deg=175 - 90 * depth, knee_left_deg=175 - (175 - knee_at_depth) * depth,
                            knee_right_deg=175 - (175 - knee_at_depth) * depth, back_bow=0.01 + bow_at_depth * depth))
    return out


def run(records):
    checker = make_checker("hip_hinge")
    for k in records:
        checker.update(k)
    return checker.finish()


def test_hinge_counts_and_a_flat_back_is_clean():
    result = run(hinge_frames(bow_at_depth=0.02))
    assert len(result.reps) == 2 and result.faults == []


def test_rounding_fires_back_rounded_in_each_rep():
    result = run(hinge_frames(bow_at_depth=0.09))
    assert [r.faults for r in result.reps] == [["back_rounded"], ["back_rounded"]]
    assert {f.code for f in result.faults} == {"back_rounded"}


def test_squatting_down_fires_knee_bent_soft_knees_do_not():
    assert "knee_bent" in {f.code for f in run(hinge_frames(0.02, knee_at_depth=100.0)).faults}
    assert "knee_bent" not in {f.code for f in run(hinge_frames(0.02, knee_at_depth=130.0)).faults}


@pytest.fixture(scope="module")
def real():
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = analyze_video(clip(name), "hip_hinge")[0]
        return cache[name]

    return get


@pytest.mark.integration
def test_real_rounded_rdl_fires_and_the_flat_one_does_not(real):
    labels = json.loads((VIDEOS / "labels-dev.json").read_text())
    for name in ("rdl_side_rounded_gazi_TL.mp4", "rdl_side_flat_gazi_TR.mp4"):
        result = real(name).result
        assert len(result.reps) == labels[name]["reps_complete"]
        fired = "back_rounded" in {f.code for f in result.faults}
        assert fired == ("back_rounded" in labels[name]["faults"]), name


@pytest.mark.integration
def test_real_clean_deadlift_never_fires_back_rounded(real):
    result = real("deadlift_side_formfit.mp4").result
    assert len(result.reps) >= 1
    assert "back_rounded" not in {f.code for f in result.faults}


@pytest.mark.integration
def test_real_knee_bend_separates_the_two_rdls(real):
    assert "knee_bent" in {f.code for f in real("rdl_side_kneebent_wrong_gazi_BL.mp4").result.faults}
    assert "knee_bent" not in {f.code for f in real("rdl_side_kneebent_right_gazi_BR.mp4").result.faults}
