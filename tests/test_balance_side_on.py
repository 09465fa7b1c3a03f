"""Single-leg balance filmed side-on, a hand on a wall or a chair: a body posed in 3-D and photographed by a
pinhole camera, so the picture has a real one's perspective (the leg nearer the camera drawn bigger, its
foot lower in the picture), then judged by the whole pipeline (legs tracked, smoothed, checked)."""

import math

import numpy as np
import pytest

from formcheck.exercises.balance import SPEC
from formcheck.kinematics import measure
from formcheck.legs import other
from formcheck.pose import (L_ANKLE, L_EAR, L_ELBOW, L_FOOT, L_HEEL, L_HIP, L_KNEE, L_SHOULDER, L_WRIST, N_LANDMARKS,
                            NOSE, R_ANKLE, R_EAR, R_ELBOW, R_FOOT, R_HEEL, R_HIP, R_KNEE, R_SHOULDER, R_WRIST, Pose,
                            PoseSeries)
from formcheck.session import analyze_series

THIGH = SHIN = 0.44  # metres
LEG = THIGH + SHIN
HIP_HEIGHT = LEG + 0.08  # the standing ankle sits 8 cm above the floor
HALF_HIPS = 0.09
WIDTH, HEIGHT, FOCAL = 720, 1280, 900.0  # a phone held upright
UP = np.array([0.0, 1.0, 0.0])
FACING_LEFT = np.array([-1.0, 0.0, 0.0])  # side-on, walking towards the picture's left: the left side faces the camera
LEGS = {"left": (L_HIP, L_KNEE, L_ANKLE, L_HEEL, L_FOOT), "right": (R_HIP, R_KNEE, R_ANKLE, R_HEEL, R_FOOT)}
ARMS = {"left": (L_SHOULDER, L_ELBOW, L_WRIST, L_EAR), "right": (R_SHOULDER, R_ELBOW, R_WRIST, R_EAR)}
LIFT_OFF = SPEC.defaults["lift_off"]


def body(free: str = "left", hip_extension_deg: float = 0.0, knee_flexion_deg: float = 0.0,
         hand_on_chair: bool = False, facing: np.ndarray = FACING_LEFT) -> dict[int, np.ndarray]:
    """Landmarks in metres (y up, z away from the camera), standing on one straight leg. The free leg's thigh
    swings back by `hip_extension_deg` (negative: forward) and its shin further back by `knee_flexion_deg`, the
    foot turning with the shin. A hand on a chair: both arms reach forward and down."""
    back = -facing
    left = np.cross(facing, UP)  # the body's left, sideways
    points = {}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        hip = HIP_HEIGHT * UP + sign * HALF_HIPS * left
        thigh_deg, shin_deg = (hip_extension_deg, hip_extension_deg + knee_flexion_deg) if side == free else (0, 0)
        a, b = math.radians(thigh_deg), math.radians(shin_deg)
        knee = hip + THIGH * (math.sin(a) * back - math.cos(a) * UP)
        ankle = knee + SHIN * (math.sin(b) * back - math.cos(b) * UP)

        def foot(behind: float, above: float) -> np.ndarray:  # a point of the foot, turned with the shin
            return ankle + (math.cos(b) * behind - math.sin(b) * above) * back + (
                math.sin(b) * behind + math.cos(b) * above) * UP

        points.update(zip(LEGS[side], (hip, knee, ankle, foot(0.06, -0.06), foot(-0.16, -0.07))))
        shoulder_i, elbow_i, wrist_i, ear_i = ARMS[side]
        shoulder = 1.45 * UP + sign * 0.17 * left
        points[shoulder_i], points[ear_i] = shoulder, 1.62 * UP + sign * 0.07 * left
        reach = (0.25 * facing - 0.2 * UP, 0.5 * facing - 0.45 * UP) if hand_on_chair else (-0.28 * UP, -0.55 * UP)
        points[elbow_i], points[wrist_i] = shoulder + reach[0], shoulder + reach[1]
    points[NOSE] = 1.58 * UP + 0.1 * facing
    return points


def photograph(points: dict[int, np.ndarray], t: float = 0.0, distance: float = 2.5, camera_height: float = 1.0,
               world_foot_scale: float = 1.0) -> Pose:
    """The picture a camera `distance` metres in front of the body takes, and MediaPipe's world landmarks
    (metres about the hips, y down). `world_foot_scale` > 1 makes the world over-read how high the feet are
    (as it does when a foot is hidden), so that the picture's estimate is the one that counts."""
    image = np.zeros((N_LANDMARKS, 5), np.float32)
    world = np.zeros((N_LANDMARKS, 3), np.float32)
    image[:, 3:] = 0.99
    feet = LEGS["left"][2:] + LEGS["right"][2:]
    for i, (x, y, z) in points.items():
        image[i, 0] = (WIDTH / 2 + FOCAL * x / (z + distance)) / WIDTH
        image[i, 1] = (HEIGHT * 0.55 + FOCAL * (camera_height - y) / (z + distance)) / HEIGHT
        world[i] = (x, HIP_HEIGHT - y * (world_foot_scale if i in feet else 1.0), z)
    return Pose(t, image, world, 1)


def true_lift(points: dict[int, np.ndarray]) -> float:
    """How far the left foot's lowest point is above the right's, in leg lengths."""
    low = {side: min(points[i][1] for i in LEGS[side][2:]) for side in LEGS}
    return (low["left"] - low["right"]) / LEG


def lift(points, **camera) -> float:
    return measure(photograph(points, **camera), WIDTH, HEIGHT).ankle_lift_left


CAMERAS = [dict(distance=2.0, camera_height=1.0), dict(distance=2.5, camera_height=1.5),
           dict(distance=3.0, camera_height=0.6)]


@pytest.mark.parametrize("camera", CAMERAS)
def test_feet_side_by_side_read_level_though_the_nearer_is_drawn_lower(camera):
    points = body()
    picture = photograph(points, **camera).image
    nearer_lower_px = (picture[L_ANKLE, 1] - picture[R_ANKLE, 1]) * HEIGHT
    assert nearer_lower_px > 5  # the perspective the measure must see through
    assert abs(lift(points, **camera)) < LIFT_OFF / 5


@pytest.mark.parametrize("camera", CAMERAS)
@pytest.mark.parametrize("free", ["left", "right"])  # the leg nearer the camera, or the one beyond
@pytest.mark.parametrize("hip_extension_deg, knee_flexion_deg", [(10, 35), (5, 50), (-20, 60), (0, 90)])
def test_a_foot_held_behind_reads_its_height_above_the_floor(camera, free, hip_extension_deg, knee_flexion_deg):
    """From a hover just off the floor to a hamstring curl with the shin level, on either leg: the picture's
    estimate (the world made to over-read, so the picture is what counts) is the foot's true height."""
    points = body(free, hip_extension_deg, knee_flexion_deg)
    truth = true_lift(points)
    assert (truth > 0) == (free == "left") and abs(truth) > 0.04
    picture_only = measure(photograph(points, world_foot_scale=3.0, **camera), WIDTH, HEIGHT).ankle_lift_left
    assert picture_only == pytest.approx(truth, abs=0.01)
    assert lift(points, **camera) == pytest.approx(truth, abs=0.01)


def test_a_hand_on_a_chair_changes_nothing():
    """The arms take no part in the stance: reaching to a chair, even with the arms unseen, reads the same."""
    for free, flexion in (("left", 50), ("right", 90)):
        hanging, supported = body(free, 5, flexion), body(free, 5, flexion, hand_on_chair=True)
        a, b = photograph(hanging), photograph(supported)
        b.image[[L_ELBOW, L_WRIST, R_ELBOW, R_WRIST], 3] = 0.1
        assert not np.allclose(a.image[L_WRIST, :2], b.image[L_WRIST, :2])
        ka, kb = measure(a, WIDTH, HEIGHT), measure(b, WIDTH, HEIGHT)
        assert kb.ankle_lift_left == pytest.approx(ka.ankle_lift_left, abs=1e-6)
        assert (kb.view, kb.body_in_frame, kb.body_visible) == (ka.view, ka.body_in_frame, ka.body_visible) == (
            "side", True, True)


def test_the_far_ankle_hidden_behind_the_near_foot_still_reads_while_its_toes_show():
    pose = photograph(body("left", 0, 90))
    pose.image[R_ANKLE, 3] = 0.2
    assert measure(pose, WIDTH, HEIGHT).ankle_lift_left == pytest.approx(true_lift(body("left", 0, 90)), abs=0.01)
    pose.image[[R_HEEL, R_FOOT], 3] = 0.2
    assert math.isnan(measure(pose, WIDTH, HEIGHT).ankle_lift_left)


FPS = 30.0


def curl_session(free: str, swaps: bool, seed: int = 0) -> tuple[PoseSeries, tuple[float, float]]:
    """Side-on, a hand on a chair: 1 s on both feet; the free foot goes back and up, then 6 s of slow curls
    from a low hover (knee 50°) to the shin level (90°); the foot down at 8 s. Landmark
    jitter of about a pixel, and, with `swaps`, MediaPipe swapping the legs' names for 0.1–0.5 s every second
    or two. Returns the recording and the true stance (foot off the floor to touch-down)."""
    rng = np.random.default_rng(seed)
    times = np.arange(0.0, 9.5, 1 / FPS)
    swap_until, next_swap = -1.0, 1.5
    images, worlds, stance = [], [], []
    for t in times:
        if 1.0 <= t < 8.0:
            knee = min(50.0, 50.0 * (t - 1.0) / 0.4) if t < 1.4 else 70.0 - 20.0 * math.cos(2 * math.pi * (t - 1.4) / 3)
            knee = min(knee, 50.0 * (8.0 - t) / 0.4) if t > 7.6 else knee
            points = body(free, 5.0 * knee / 50.0, knee, hand_on_chair=True)
        else:
            points = body(free, hand_on_chair=True)
        stance.append(abs(true_lift(points)) >= LIFT_OFF)
        pose = photograph(points, t)
        image, world = pose.image.copy(), pose.world.copy()
        image[:, :2] += rng.normal(0, 1.0, (N_LANDMARKS, 2)) / (WIDTH, HEIGHT)
        if swaps and t >= next_swap:
            swap_until, next_swap = t + rng.uniform(0.1, 0.5), t + rng.uniform(1.0, 2.0)
        if t < swap_until:
            for a, b in zip(LEGS["left"], LEGS["right"]):
                image[[a, b]], world[[a, b]] = image[[b, a]], world[[b, a]]
        images.append(image)
        worlds.append(world)
    up = times[np.flatnonzero(stance)]
    series = PoseSeries(times, np.array(images), np.array(worlds), np.ones(len(times), int), np.zeros(len(times)),
                        WIDTH, HEIGHT)
    return series, (float(up[0]), float(up[-1]))


@pytest.mark.parametrize("live", [False, True])
@pytest.mark.parametrize("free", ["left", "right"])
@pytest.mark.parametrize("swaps", [False, True])
def test_a_supported_side_on_stance_is_one_hold_on_the_standing_leg(live, free, swaps):
    series, (start, end) = curl_session(free, swaps)
    holds = analyze_series(series, "single_leg_balance", live=live).result.holds
    assert len(holds) == 1
    hold = holds[0]
    assert hold.side == other(free)
    assert hold.start_s == pytest.approx(start, abs=0.2) and hold.end_s == pytest.approx(end, abs=0.2)
