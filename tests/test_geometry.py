"""Angles, views and foot lift from landmarks: the numbers everything else stands on."""

import math

import numpy as np
import pytest

from formcheck.kinematics import angle_deg, inclination_deg, measure
from formcheck.pose import (L_ANKLE, L_EAR, L_FOOT, L_HEEL, L_HIP, L_KNEE, L_SHOULDER, N_LANDMARKS, NOSE, R_ANKLE,
                            R_EAR, R_FOOT, R_HEEL, R_HIP, R_KNEE, R_SHOULDER, Pose)


def test_angle_of_straight_right_and_folded_joints():
    a, b = np.array([0.0, 0.0]), np.array([1.0, 0.0])
    assert angle_deg(a, b, np.array([2.0, 0.0])) == pytest.approx(180.0)
    assert angle_deg(a, b, np.array([1.0, 1.0])) == pytest.approx(90.0)
    assert angle_deg(a, b, np.array([0.0, 0.0001])) == pytest.approx(0.0, abs=0.01)
    assert angle_deg(np.array([0.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]),
                     np.array([1.0, 1.0, 0.0])) == pytest.approx(90.0)


def test_angle_with_a_zero_length_segment_is_nan():
    p = np.array([1.0, 1.0])
    assert math.isnan(angle_deg(p, p, np.array([2.0, 2.0])))


def test_inclination_upright_and_lying():
    assert inclination_deg(np.array([0.0, 10.0]), np.array([0.0, 0.0])) == pytest.approx(0.0)  # y points down
    assert inclination_deg(np.array([0.0, 0.0]), np.array([10.0, 0.0])) == pytest.approx(90.0)
    assert inclination_deg(np.array([0.0, 10.0]), np.array([10.0, 0.0])) == pytest.approx(45.0)


def standing_pose(knee_bend_deg: float = 0.0, lift_left: float = 0.0, shoulder_half_width: float = 0.08,
                  width: int = 1000, height: int = 1000) -> Pose:
    """A person facing the camera in normalised coordinates (square frame, so pixels = scaled units)."""
    img = np.zeros((N_LANDMARKS, 5), np.float32)
    img[:, 3:] = 0.99
    for side, sx in ((+1, shoulder_half_width), (-1, -shoulder_half_width)):
        shoulder, hip, knee, ankle, heel, foot, ear = (
            (L_SHOULDER, L_HIP, L_KNEE, L_ANKLE, L_HEEL, L_FOOT, L_EAR) if side > 0 else
            (R_SHOULDER, R_HIP, R_KNEE, R_ANKLE, R_HEEL, R_FOOT, R_EAR))
        x = 0.5 + sx
        img[shoulder, :2] = (x, 0.3)
        img[ear, :2] = (0.5 + sx / 2, 0.22)
        img[hip, :2] = (0.5 + sx / 2, 0.55)
        img[knee, :2] = (0.5 + sx / 2, 0.72)
        lift = lift_left if side > 0 else 0.0
        bend = math.radians(knee_bend_deg if side > 0 else 0.0)
        ankle_xy = np.array([0.5 + sx / 2 + 0.17 * math.sin(bend), 0.72 + 0.17 * math.cos(bend) - lift * 0.34])
        img[ankle, :2] = ankle_xy
        img[heel, :2] = ankle_xy + (0, 0.01)
        img[foot, :2] = ankle_xy + (0.03, 0.01)
    img[NOSE, :2] = (0.5, 0.22)
    world = img[:, :3].copy()  # metres would scale, but the measures used here are ratios
    return Pose(t_s=1.0, image=img, world=world, people=1)


def test_measure_straight_standing_person_front_on():
    k = measure(standing_pose(), 1000, 1000)
    assert k.present and k.body_in_frame and k.body_visible
    assert k.knee_left_deg == pytest.approx(180.0, abs=0.5)
    assert k.trunk_incline_deg == pytest.approx(0.0, abs=0.5)
    assert k.view == "front"
    assert k.ankle_lift_left == pytest.approx(0.0, abs=0.01)


def test_measure_bent_knee():
    k = measure(standing_pose(knee_bend_deg=60.0), 1000, 1000)
    assert k.knee_left_deg == pytest.approx(120.0, abs=1.0)
    assert k.knee_right_deg == pytest.approx(180.0, abs=0.5)


def test_lifted_foot_reads_positive_for_left_negative_for_right():
    assert measure(standing_pose(lift_left=0.2), 1000, 1000).ankle_lift_left == pytest.approx(0.2, abs=0.03)
    pose = standing_pose()
    pose.image[[R_ANKLE, R_HEEL, R_FOOT], 1] -= 0.2 * 0.34
    pose.world[[R_ANKLE, R_HEEL, R_FOOT], 1] -= 0.2 * 0.34
    assert measure(pose, 1000, 1000).ankle_lift_left == pytest.approx(-0.2, abs=0.03)


def test_side_on_view_when_shoulders_overlap():
    assert measure(standing_pose(shoulder_half_width=0.005), 1000, 1000).view == "side"


def test_angles_respect_the_frame_aspect_ratio():
    """Normalised coordinates are scaled to pixels: a 45° line in a wide frame is not 45° in units."""
    pose = standing_pose()
    wide = measure(pose, 2000, 1000)
    square = measure(pose, 1000, 1000)
    assert wide.shoulder_spread == pytest.approx(2 * square.shoulder_spread, rel=0.05)


def test_nobody_gives_an_empty_record():
    k = measure(None, 640, 480, t_s=2.5)
    assert not k.present and k.t_s == 2.5 and math.isnan(k.knee_left_deg)


def test_hidden_foot_gives_no_lift_reading():
    pose = standing_pose(lift_left=0.3)
    pose.image[[R_ANKLE, R_HEEL, R_FOOT], 3] = 0.1
    assert math.isnan(measure(pose, 1000, 1000).ankle_lift_left)


def test_partly_out_of_frame_body_is_flagged():
    pose = standing_pose()
    pose.image[L_ANKLE, 1] = 1.08
    assert not measure(pose, 1000, 1000).body_in_frame
