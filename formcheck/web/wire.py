"""The landmark socket's wire format: the browser's binary frame in, as a `Pose`; the small JSON reply out.

The server never sees pixels and believes what a client sends, so a frame is checked whole before any checker
sees it: exact length, finite values in sane ranges, a mask that fits its own size. A bad frame raises
`BadFrame` with a short machine-readable reason, so the socket can count it, drop it and say why.

Frame, little-endian: a 16-byte header (u8 version, u8 flags, u8 people, u8 0, u32 seq, f64 t_ms); people × 33 ×
4 f32 image landmarks (x, y normalised, z, visibility); people × 33 × 3 f32 world landmarks (metres); with flag
bit 0, the first person's mask as row runs: u16 h, u16 w, u16 n, then n × (u16 row, u16 x0, u16 x1), x1
exclusive. The browser has no `presence`: a decoded Pose holds NaN there (not measured; nothing in formcheck
reads it, and 1.0 would claim a certainty the model never gave).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..exercises.records import tone
from ..pose import N_LANDMARKS, Pose, main_person

if TYPE_CHECKING:
    from ..live import LiveSnapshot

VERSION = 1
FLAG_MASK = 1
HEADER = struct.Struct("<BBBBId")  # version, flags, people, reserved 0, seq, t_ms
MASK_HEADER = struct.Struct("<HHH")  # h, w, runs
RUN = np.dtype("<u2")  # each run: row, x0, x1
IMAGE_BYTES = N_LANDMARKS * 4 * 4
WORLD_BYTES = N_LANDMARKS * 3 * 4
MAX_MESSAGE_BYTES = 16 * 1024  # two people and a mask of ~2,400 runs; uvicorn's own limit is Streamlit's 200 MB
MAX_PEOPLE = 2  # the model runs with num_poses 2, as on the server
MAX_IMAGE = 10.0  # |x|, |y|, |z| in frame widths: landmarks guessed off the frame reach ~2, never 10
MAX_WORLD_M = 4.0  # hip-centred metres: a body's farthest point is ~1.2 m away
MAX_MASK_SIDE = 4096
MAX_MASK_PIXELS = 1920 * 1080  # the decoded float32 mask is 4 bytes a pixel: 8 MB at most per frame
MAX_T_MS = 7 * 24 * 3600 * 1000.0  # a camera's media time over a week is not a live set's


class BadFrame(ValueError):
    """A frame dropped: `reason` is short and machine-readable (counted per stream), the message says why."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Frame:
    """One decoded frame: its sequence number (echoed in the reply), its time, and the main person or None."""

    seq: int
    t_s: float
    pose: Pose | None


def parse_frame(data: bytes, width: int, height: int) -> Frame:
    """The frame in `data`, validated, with the main person chosen as PoseEstimator chooses (pose.main_person);
    `width` × `height`: the camera frame's size in pixels. Raises BadFrame."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise BadFrame("too_large", f"a frame of {len(data)} bytes is over the {MAX_MESSAGE_BYTES}-byte limit")
    if len(data) < HEADER.size:
        raise BadFrame("length", f"a frame of {len(data)} bytes is shorter than its {HEADER.size}-byte header")
    version, flags, people, reserved, seq, t_ms = HEADER.unpack_from(data)
    if version != VERSION:
        raise BadFrame("version", f"frame version {version}; this server reads version {VERSION}")
    if flags & ~FLAG_MASK or reserved:
        raise BadFrame("header", f"unknown header bits (flags {flags:#04x}, reserved byte {reserved})")
    if people > MAX_PEOPLE:
        raise BadFrame("people", f"{people} people in a frame; at most {MAX_PEOPLE}")
    if not math.isfinite(t_ms) or not 0 <= t_ms <= MAX_T_MS:
        raise BadFrame("time", f"frame time {t_ms} ms is not a camera's")
    has_mask = bool(flags & FLAG_MASK)
    if has_mask and not people:
        raise BadFrame("mask", "a mask came with nobody in the frame")
    landmarks_end = HEADER.size + people * (IMAGE_BYTES + WORLD_BYTES)
    runs_at = landmarks_end + MASK_HEADER.size
    h = w = n = 0
    if has_mask and len(data) >= runs_at:
        h, w, n = MASK_HEADER.unpack_from(data, landmarks_end)
    expected = (runs_at + n * RUN.itemsize * 3) if has_mask else landmarks_end
    if len(data) != expected:
        raise BadFrame("length", f"a frame of {len(data)} bytes; its header says {expected}")
    t_s = t_ms / 1000
    if not people:
        return Frame(seq, t_s, None)
    images = np.frombuffer(data, "<f4", people * N_LANDMARKS * 4, HEADER.size).reshape(people, N_LANDMARKS, 4)
    worlds = np.frombuffer(data, "<f4", people * N_LANDMARKS * 3, HEADER.size + people * IMAGE_BYTES)
    worlds = worlds.reshape(people, N_LANDMARKS, 3)
    _check_landmarks(images, worlds)
    main, others_height = main_person(images, width, height)
    mask = None
    if has_mask:
        decoded = _decode_mask(data, runs_at, h, w, n)
        mask = decoded if main == 0 else None  # the mask is the first person's: none for another main person
    image = np.concatenate([images[main], np.full((N_LANDMARKS, 1), np.nan, np.float32)], axis=1)  # copies
    return Frame(seq, t_s, Pose(t_s, image, worlds[main].astype(np.float32), people, others_height, mask))


def _check_landmarks(images: np.ndarray, worlds: np.ndarray) -> None:
    if not (np.isfinite(images).all() and np.isfinite(worlds).all()):
        raise BadFrame("not_finite", "landmarks with NaN or infinity")
    if np.abs(images[..., :3]).max() > MAX_IMAGE:
        raise BadFrame("image_range", f"image landmarks over {MAX_IMAGE:g} frame widths away")
    visibility = images[..., 3]
    if visibility.min() < 0 or visibility.max() > 1:
        raise BadFrame("visibility", "visibility outside 0…1")
    if np.abs(worlds).max() > MAX_WORLD_M:
        raise BadFrame("world_range", f"world landmarks over {MAX_WORLD_M:g} m from the hips")


def _decode_mask(data: bytes, at: int, h: int, w: int, n: int) -> np.ndarray:
    """The row runs at `at` as an h × w float32 mask (1 inside the person, 0 elsewhere)."""
    if not (0 < h <= MAX_MASK_SIDE and 0 < w <= MAX_MASK_SIDE) or h * w > MAX_MASK_PIXELS:
        raise BadFrame("mask_size", f"a {w}×{h} mask; at most {MAX_MASK_SIDE} a side, {MAX_MASK_PIXELS} pixels")
    runs = np.frombuffer(data, RUN, n * 3, at).reshape(n, 3).astype(np.int64)
    rows, x0, x1 = runs.T
    if n and ((rows >= h).any() or (x0 >= x1).any() or (x1 > w).any()):
        raise BadFrame("mask_runs", f"mask runs outside the {w}×{h} mask, or empty")
    mask = np.zeros((h, w), np.float32)
    for row, start, stop in runs:
        mask[row, start:stop] = 1.0
    return mask


def encode_frame(seq: int, t_ms: float, images: np.ndarray, worlds: np.ndarray,
                 mask: np.ndarray | None = None) -> bytes:
    """A frame message from landmark arrays: `images` (people, 33, 4 or 5; a 5th column is not sent), `worlds`
    (people, 33, 3), `mask` (h × w, > 0.5 inside) the first person's. What a browser sends, for tests and load
    clients; it packs what it is given, so a test can send bad values and see them refused."""
    images = np.asarray(images, np.float32).reshape(-1, N_LANDMARKS, np.shape(images)[-1])[..., :4]
    worlds = np.asarray(worlds, np.float32).reshape(-1, N_LANDMARKS, 3)
    people = len(images)
    if len(worlds) != people:
        raise ValueError(f"{people} people's image landmarks but {len(worlds)} people's world landmarks")
    parts = [HEADER.pack(VERSION, FLAG_MASK if mask is not None else 0, people, 0, seq, t_ms),
             images.astype("<f4").tobytes(), worlds.astype("<f4").tobytes()]
    if mask is not None:
        parts.append(_encode_mask(np.asarray(mask)))
    return b"".join(parts)


def _encode_mask(mask: np.ndarray) -> bytes:
    """`mask > 0.5` as row runs after its u16 h, w and run count."""
    h, w = mask.shape
    inside = np.zeros((h, w + 2), np.int8)
    inside[:, 1:-1] = mask > 0.5
    rows, edges = np.nonzero(np.diff(inside, axis=1))  # per row: starts and ends alternate, left to right
    runs = np.stack([rows[::2], edges[::2], edges[1::2]], axis=1).astype(RUN)
    return MASK_HEADER.pack(h, w, len(runs)) + runs.tobytes()


def reply(seq: int, snap: LiveSnapshot) -> dict:
    """What the page draws after a frame (colours, counter, set, phase, its message and banner, cue, the latest
    cue to say), in a dict sent as compact JSON: about 250 bytes for a typical frame."""
    status = snap.workout
    message = status.message if status else None  # outside a set only: the key is left out during one
    return {
        "seq": seq,
        "tone": tone(snap.scoring, snap.faults),
        "refusal": snap.refusal,
        "counter": status.counter if status else None,
        "set": status.set_text if status else None,
        "phase": status.phase if status else None,
        "banner": status.banner if status else None,
        "cue": snap.cue,
        "say": list(snap.spoken) if snap.spoken else None,
        "angles": {name: round(v) for name, v in snap.angles.items() if v is not None and math.isfinite(v)},
        "limit": snap.limit_reached,
    } | ({"message": message} if message else {})
