"""Which leg is which, over time.

Side-on, MediaPipe's left/right labels of the legs swap from frame to frame (and sometimes only a knee's or
a foot's). A physical leg moves continuously, so each leg is tracked by continuity: every frame, of the
ways to pair the hips, the knees and the feet (ankle, heel and toes move together) with the two tracked
legs, the one that moves the legs least (image and world landmarks, weighted by visibility), keeps each
thigh and shin its usual length and makes them shortest wins. Offline each leg keeps the name MediaPipe
gave it in most frames of a stretch; live, the name it had when the person came into view. A stretch ends
where continuity cannot tell the legs apart while MediaPipe can: facing the camera (MediaPipe tells left
from right by the body's front), the legs passing so close that swapping their names moves them less than
they moved themselves.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import replace
from typing import Literal

import numpy as np

from .kinematics import FRONT_ON_SPREAD
from .pose import Pose, PoseSeries

Side = Literal["left", "right"]
SIDES: tuple[Side, Side] = ("left", "right")


def other(side: Side) -> Side:
    return "right" if side == "left" else "left"


# (left, right) landmark indices of each part of a leg that MediaPipe may swap on its own
PARTS = (((23,), (24,)), ((25,), (26,)), ((27, 29, 31), (28, 30, 32)))
LEG_LANDMARKS = [i for part in PARTS for side in part for i in side]
COMBINATIONS = list(itertools.product((False, True), repeat=len(PARTS)))
RESTART_S = 0.5  # no person for this long: the legs are found afresh
CUT_RATIO = 1.35  # the body's drawn size jumping by this factor from one frame to the next: the shot cut
MEMORY = (1.0, 0.5, 0.25)  # live: how much each of the last tracked frames counts, newest first
BONE_HISTORY = 120  # the typical thigh and shin: the median of this many recent readings (a few seconds)
BONE_WEIGHT = 4.0  # a knee paired with the other leg's foot shows as a shin of the wrong length
SHORT_WEIGHT = 0.5  # per torso length of thigh and shin: a knee joined to the other leg's hip or foot is longer,
# which tells the pairing where the knees pass each other and the movement cannot (front-on walking lunges)
LEG_M = 0.5  # world-landmark movement is counted in half-leg lengths, as image movement in torso lengths


def _bones(image: np.ndarray) -> np.ndarray:
    """Thigh and shin lengths of the left and right leg (hip–knee, knee–ankle), of one pose (33, 2) or many."""
    return np.linalg.norm(image[..., [23, 25, 24, 26], :] - image[..., [25, 27, 26, 28], :], axis=-1)


def _typical(bones) -> np.ndarray:
    """The median thigh and the median shin of recent readings (NaN where none was measured)."""
    recent = np.asarray(bones)
    return np.array([np.median(c[np.isfinite(c)]) if np.isfinite(c).any() else np.nan for c in recent.T])


def _order(swapped: tuple[bool, ...]) -> np.ndarray:
    """The landmark order that exchanges the left and right landmarks of each swapped part."""
    order = np.arange(33)
    for (left, right), swap in zip(PARTS, swapped):
        if swap:
            order[list(left + right)] = list(right + left)
    return order


ORDERS = np.array([_order(s) for s in COMBINATIONS])  # (8, 33): every labelling at once
LEG_ORDERS = ORDERS[:, LEG_LANDMARKS]


def swap_parts(points: np.ndarray, swapped: tuple[bool, ...]) -> np.ndarray:
    """`points` (33, k) with the left and right landmarks of each swapped part exchanged."""
    return points[_order(swapped)]


class LegTracker:
    """Follows the two physical legs from frame to frame; `track` returns the pose with stable leg labels.

    Each frame takes the labelling closest to the last few tracked frames (the nearest counting most), so a
    frame or two of MediaPipe guessing both feet in the middle cannot carry the legs' names across."""

    def __init__(self, width: int, height: int):
        self.size = (width, height)
        self.restarted = True  # the latest frame began a new track (first frame, after a gap or a cut)
        self.unsure = False  # the latest frame's leg names rest on MediaPipe's alone (see the module docstring)
        self._t, self._torso = -np.inf, np.nan
        self._recent: deque[np.ndarray] = deque(maxlen=len(MEMORY))  # tracked leg points, newest first
        self._bones: deque[np.ndarray] = deque(maxlen=BONE_HISTORY)  # recent (thigh, shin) ÷ torso, either leg

    def assignment(self, pose: Pose) -> tuple[bool, ...]:
        """Per leg part, whether MediaPipe's left/right labels are exchanged relative to the tracked legs."""
        torso = torso_px(pose.image, *self.size)
        points, weights, bones = candidates(pose.image, pose.world, *self.size, torso)
        self.restarted = not (pose.t_s - self._t <= RESTART_S and 1 / CUT_RATIO < torso / self._torso < CUT_RATIO)
        if self.restarted:  # no past to follow: MediaPipe's labels
            self._recent.clear()
            self._bones.clear()
            moved = cost = np.zeros(len(COMBINATIONS))
        else:
            moved = sum(memory * np.sum(weights * np.sum((points - before) ** 2, axis=2), axis=1)
                        for memory, before in zip(MEMORY, self._recent))
            cost = moved + BONE_WEIGHT * np.nansum((bones - np.tile(_typical(self._bones), 2)) ** 2, axis=1) \
                + SHORT_WEIGHT * np.nansum(bones, axis=1)
        best = int(np.argmin(cost))  # on a tie, the first: MediaPipe's own labels
        renamed = len(COMBINATIONS) - 1 - best  # the same legs, each with the other's name
        self.unsure = bool(not self.restarted and moved[renamed] - moved[best] < moved[best]
                           and shoulder_spread(pose.image, *self.size, torso) > FRONT_ON_SPREAD)
        self._t, self._torso = pose.t_s, torso
        self._recent.appendleft(points[best])
        self._bones.extend(bones[best].reshape(2, 2))
        return COMBINATIONS[best]

    def track(self, pose: Pose | None) -> Pose | None:
        """The pose with its legs labelled as tracked (live: one frame at a time)."""
        if pose is None:
            return None
        return relabel(pose, self.assignment(pose))


def shoulder_spread(image: np.ndarray, width: int, height: int, torso: float) -> float:
    """Shoulder to shoulder in torso lengths (as kinematics measures it): wide when facing the camera."""
    pixels = image[[11, 12], :2].astype(np.float64) * (width, height)
    return float(np.linalg.norm(pixels[0] - pixels[1])) / torso


def torso_px(image: np.ndarray, width: int, height: int) -> float:
    """Shoulder-midpoint to hip-midpoint, in pixels (at least one)."""
    pixels = image[:, :2].astype(np.float64) * (width, height)
    return max(float(np.linalg.norm(pixels[[11, 12]].mean(0) - pixels[[23, 24]].mean(0))), 1.0)


def candidates(image: np.ndarray, world: np.ndarray, width: int, height: int, torso: float) -> tuple[np.ndarray, ...]:
    """One frame's leg landmarks under every labelling: points (8, legs, 5: image x, y ÷ torso, world ÷ half a
    leg), their weights (visibility, and a little for the unseen) and the thigh and shin lengths ÷ torso (8, 4)."""
    pixels = image[:, :2].astype(np.float64) * (width, height)
    both = np.concatenate([pixels / torso, world.astype(np.float64) / LEG_M], axis=1)
    return both[LEG_ORDERS], 0.2 + image[LEG_ORDERS, 3], _bones(pixels[ORDERS]) / torso


def relabel(pose: Pose, swapped: tuple[bool, ...]) -> Pose:
    return replace(pose, image=swap_parts(pose.image, swapped), world=swap_parts(pose.world, swapped))


def track_series(series: PoseSeries) -> PoseSeries:
    """A whole recording with stable leg labels: tracked as live, then, the whole recording being known, each
    tracked hip, knee and foot of each stretch (frames with a person, followed by continuity) takes the name
    MediaPipe gave it in most of the stretch's frames, weighted by how well it was seen."""
    tracker = LegTracker(series.width, series.height)
    swaps = np.zeros((len(series), len(PARTS)), bool)
    track, n = np.full(len(series), -1), -1
    for i in np.flatnonzero(series.people > 0):
        swaps[i] = tracker.assignment(series.pose(i))
        n += tracker.restarted or tracker.unsure
        track[i] = n
    for n in range(n + 1):
        mine = track == n
        for p, (left, right) in enumerate(PARTS):
            seen = series.image[mine][:, [left[0], right[0]], 3].min(axis=1)
            if np.nansum(np.where(swaps[mine, p], seen, -seen)) > 0:
                swaps[mine, p] = ~swaps[mine, p]
    image, world = series.image.copy(), series.world.copy()
    for i in np.flatnonzero(series.people > 0):
        image[i], world[i] = swap_parts(series.image[i], tuple(swaps[i])), swap_parts(series.world[i], tuple(swaps[i]))
    return PoseSeries(series.t_s, image, world, series.people, series.others_height, series.width, series.height)
