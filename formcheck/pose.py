"""Pose estimation: one long-lived MediaPipe PoseLandmarker per stream, results as numpy records.

Only this module talks to MediaPipe. Everything downstream sees `Pose` (numbers), so the checkers can
be tested on recorded landmark series without running the model.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import models
from .errors import ModelError

N_LANDMARKS = 33
# MediaPipe pose landmark indices used across formcheck.
NOSE, L_EAR, R_EAR = 0, 7, 8
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 11, 12, 13, 14, 15, 16
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 23, 24, 25, 26, 27, 28
L_HEEL, R_HEEL, L_FOOT, R_FOOT = 29, 30, 31, 32
SIDES = {
    "left": dict(ear=L_EAR, shoulder=L_SHOULDER, hip=L_HIP, knee=L_KNEE, ankle=L_ANKLE, heel=L_HEEL, foot=L_FOOT),
    "right": dict(ear=R_EAR, shoulder=R_SHOULDER, hip=R_HIP, knee=R_KNEE, ankle=R_ANKLE, heel=R_HEEL, foot=R_FOOT),
}


@dataclass(frozen=True)
class Pose:
    """The landmarks of the main person in one frame.

    `image` is (33, 5): x, y normalised to the frame, z, visibility, presence.
    `world` is (33, 3): metres, hip-centred. `people` counts every person the model found;
    `others_height` is the largest other person's size (body_size_px) relative to the main one's (0 if none).
    """

    t_s: float
    image: np.ndarray
    world: np.ndarray
    people: int
    others_height: float = 0.0
    mask: np.ndarray | None = None  # the main person's segmentation mask (H×W float32), when asked for


def _landmarks_array(landmarks, fields: tuple[str, ...]) -> np.ndarray:
    return np.array([[getattr(lm, f) or 0.0 for f in fields] for lm in landmarks], dtype=np.float32)


BODY_CHAIN = [(L_SHOULDER, L_HIP), (L_HIP, L_KNEE), (L_KNEE, L_ANKLE),
              (R_SHOULDER, R_HIP), (R_HIP, R_KNEE), (R_KNEE, R_ANKLE)]


def body_size_px(image: np.ndarray, width: int, height: int) -> float:
    """How big a person looks: shoulder→hip→knee→ankle length in pixels, averaged over both sides.

    In pixels, so a lying person in a landscape frame is not undersized against a standing one; along the
    limbs, so it does not shrink when the legs rise (a bounding box does)."""
    xy = image[:, :2] * (width, height)
    return float(sum(np.linalg.norm(xy[a] - xy[b]) for a, b in BODY_CHAIN) / 2)


_silence_lock = threading.Lock()
_silence_depth = 0
_saved_stderr: int | None = None


@contextlib.contextmanager
def native_logs_silenced():
    """MediaPipe's C++ side prints INFO/WARNING lines straight to fd 2 when a graph starts; users
    should see formcheck's own messages only (FORMCHECK_DEBUG=1 keeps them).

    fd 2 is shared by every thread (chunk workers, concurrent live sessions), so the first caller in
    redirects it and the last one out restores it: nested or overlapping uses never lose stderr."""
    global _silence_depth, _saved_stderr
    if os.environ.get("FORMCHECK_DEBUG"):
        yield
        return
    with _silence_lock:
        if _silence_depth == 0:
            _saved_stderr = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
        _silence_depth += 1
    try:
        yield
    finally:
        with _silence_lock:
            _silence_depth -= 1
            if _silence_depth == 0:
                os.dup2(_saved_stderr, 2)
                os.close(_saved_stderr)
                _saved_stderr = None


class PoseEstimator:
    """A PoseLandmarker in VIDEO mode (tracking across frames) or IMAGE mode (one still photo).

    Use as a context manager so the native graph is closed deterministically.
    """

    def __init__(self, variant: str = models.DEFAULT_VARIANT, num_poses: int = 2, masks: bool = False,
                 image_mode: bool = False, model_path: Path | None = None):
        from mediapipe.tasks.python import BaseOptions, vision

        self._image_mode = image_mode
        self._last_ms = 0  # the warm-up frame used timestamp 0
        self._seen_person = False
        path = model_path or models.ensure_model(variant)
        mode = vision.RunningMode.IMAGE if image_mode else vision.RunningMode.VIDEO
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(path)), running_mode=mode,
            num_poses=num_poses, output_segmentation_masks=masks,
        )
        try:
            with native_logs_silenced():
                self._landmarker = vision.PoseLandmarker.create_from_options(options)
                # the first inference logs too; run it here, on a blank frame, in silence
                self._warm_up(vision.RunningMode.IMAGE == mode)
        except Exception as exc:  # a bundle that passed its checksum but fails to load
            raise ModelError(f"pose model {path} could not be loaded ({exc}); "
                             "delete it and run `formcheck models`") from None

    def _warm_up(self, image_mode: bool) -> None:
        import mediapipe as mp

        blank = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.zeros((64, 64, 3), np.uint8))
        self._landmarker.detect(blank) if image_mode else self._landmarker.detect_for_video(blank, 0)

    def __enter__(self) -> "PoseEstimator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._landmarker is not None:
            with native_logs_silenced():  # closing a graph logs too (mediapipe 1.2.3: DestroyAccelerator)
                self._landmarker.close()
            self._landmarker = None

    def detect(self, rgb: np.ndarray, t_s: float) -> Pose | None:
        """The main person in an RGB frame, or None when nobody is found."""
        import mediapipe as mp

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        # VIDEO mode needs strictly increasing integer milliseconds.
        ms = max(int(round(t_s * 1000)), self._last_ms + 1)
        self._last_ms = ms
        run = (lambda: self._landmarker.detect(image)) if self._image_mode else (
            lambda: self._landmarker.detect_for_video(image, ms))
        if self._seen_person:
            result = run()
        else:  # the landmark stage logs once, when it first runs
            with native_logs_silenced():
                result = run()
        pose = pose_from_result(result, t_s, image.width, image.height)
        self._seen_person = self._seen_person or pose is not None
        return pose


def pose_from_result(result, t_s: float, width: int, height: int) -> Pose | None:
    """The largest person found (see body_size_px) as the main one; the others only as a size ratio."""
    if not result.pose_landmarks:
        return None
    images = [_landmarks_array(lms, ("x", "y", "z", "visibility", "presence")) for lms in result.pose_landmarks]
    main, others_height = main_person(images, width, height)
    mask = None
    if result.segmentation_masks:
        mask = result.segmentation_masks[main].numpy_view().copy()
    return Pose(
        t_s=t_s,
        image=images[main],
        world=_landmarks_array(result.pose_world_landmarks[main], ("x", "y", "z")),
        people=len(images),
        others_height=others_height,
        mask=mask,
    )


def main_person(images, width: int, height: int) -> tuple[int, float]:
    """Which of the people found is the main one (the largest, by body_size_px), and the largest other's size
    relative to it (0 if none): one rule for landmarks found here and landmarks sent by a browser."""
    sizes = [body_size_px(im, width, height) for im in images]
    main = int(np.argmax(sizes))
    others = [s for i, s in enumerate(sizes) if i != main]
    return main, max(others) / sizes[main] if others and sizes[main] > 0 else 0.0


@dataclass(frozen=True)
class PoseSeries:
    """A recorded landmark series (one row per frame; NaN rows where nobody was found).

    This is what the checkers consume offline and what the tests keep as small fixtures.
    """

    t_s: np.ndarray       # (N,)
    image: np.ndarray     # (N, 33, 5)
    world: np.ndarray     # (N, 33, 3)
    people: np.ndarray    # (N,) int
    others_height: np.ndarray  # (N,)
    width: int
    height: int

    @classmethod
    def from_poses(cls, times: list[float], poses: list[Pose | None], width: int, height: int) -> "PoseSeries":
        recorder = PoseRecorder(width, height)
        for t_s, pose in zip(times, poses):
            recorder.append(t_s, pose)
        return recorder.series()

    def __len__(self) -> int:
        return len(self.t_s)

    def pose(self, i: int) -> Pose | None:
        if self.people[i] == 0:
            return None
        return Pose(float(self.t_s[i]), self.image[i], self.world[i], int(self.people[i]), float(self.others_height[i]))

    def to_csv(self) -> str:
        """One row per frame and landmark: t_s, landmark, x, y, z, visibility (image) and world x, y, z."""
        lines = ["t_s,landmark,x,y,z,visibility,world_x,world_y,world_z"]
        for i, t in enumerate(self.t_s):
            if self.people[i] == 0:
                continue
            for j in range(N_LANDMARKS):
                x, y, z, v, _ = self.image[i, j]
                wx, wy, wz = self.world[i, j]
                lines.append(f"{t:.3f},{j},{x:.4f},{y:.4f},{z:.4f},{v:.3f},{wx:.4f},{wy:.4f},{wz:.4f}")
        return "\n".join(lines) + "\n"

    def save(self, path: Path) -> None:
        np.savez_compressed(path, t_s=self.t_s, image=self.image.astype(np.float16),
                            world=self.world.astype(np.float16),
                            people=self.people, others_height=self.others_height.astype(np.float16),
                            size=np.array([self.width, self.height]))

    @classmethod
    def load(cls, path: Path) -> "PoseSeries":
        with np.load(path) as z:
            width, height = (int(v) for v in z["size"])
            return cls(z["t_s"], z["image"].astype(np.float32), z["world"].astype(np.float32), z["people"],
                       z["others_height"].astype(np.float32), width, height)


class PoseRecorder:
    """Collects a stream's landmarks straight into growing float32 arrays (~1 KB a frame).

    A kept `Pose` object per frame costs several times that; a 30-minute upload at 60 fps has 108,000 frames.
    """

    def __init__(self, width: int, height: int, capacity: int = 256):
        self.width, self.height, self._n = width, height, 0
        self._t = np.zeros(capacity, np.float64)
        self._image = np.full((capacity, N_LANDMARKS, 5), np.nan, np.float32)
        self._world = np.full((capacity, N_LANDMARKS, 3), np.nan, np.float32)
        self._people = np.zeros(capacity, np.int16)
        self._others = np.zeros(capacity, np.float32)

    def __len__(self) -> int:
        return self._n

    def append(self, t_s: float, pose: Pose | None) -> None:
        if self._n == len(self._t):
            self._grow()
        i = self._n
        self._t[i] = t_s
        if pose is not None:
            self._image[i], self._world[i], self._people[i], self._others[i] = (
                pose.image, pose.world, pose.people, pose.others_height)
        self._n += 1

    def _grow(self) -> None:
        def bigger(a: np.ndarray, fill) -> np.ndarray:
            out = np.full((2 * len(a), *a.shape[1:]), fill, a.dtype)
            out[: len(a)] = a
            return out

        self._t, self._people, self._others = bigger(self._t, 0), bigger(self._people, 0), bigger(self._others, 0)
        self._image, self._world = bigger(self._image, np.nan), bigger(self._world, np.nan)

    def series(self) -> PoseSeries:
        n = self._n
        return PoseSeries(self._t[:n].copy(), self._image[:n].copy(), self._world[:n].copy(), self._people[:n].copy(),
                          self._others[:n].copy(), self.width, self.height)
