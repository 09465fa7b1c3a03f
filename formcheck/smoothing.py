"""Smoothing the measured angles: zero-phase low-pass offline, One-Euro live.

Landmark jitter is a few degrees from frame to frame; counting and fault timing must not see it.
Offline the whole series is known, so a Butterworth filter run forwards and backwards (SciPy's
`filtfilt`) smooths without delay. Live only the past is known, so a One-Euro filter adapts its
cut-off to the speed of the movement: steady when still, quick when moving.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import replace

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import butter, filtfilt

from .kinematics import SMOOTHED_FIELDS, Kinematics

CUTOFF_HZ = 3.0  # human exercise movement lives well below this; jitter lives above
# The person lost for less than this (a plate or an arm hiding the body for a few frames; from the first frame
# lost to the last) is a dropout the movement goes on through: the filters run across it, so the frames around
# it are smoothed like any others. It is the checkers' REFUSAL_RESET_S: a dropout that does not end a rep does
# not cut its signal either.
GAP_BRIDGE_S = 0.5


def _bridged(values: np.ndarray, t: np.ndarray, frame_s: float, bridge_s: float) -> np.ndarray:
    """`values` with each NaN gap shorter than `bridge_s` between two finite samples filled in linearly. A gap
    is timed as a refusal is, from its first missing frame to its last: the time between the samples either
    side, less two frames."""
    out = values.copy()
    finite, index = np.isfinite(values), np.arange(len(values))
    before = np.maximum.accumulate(np.where(finite, index, -1))  # the last finite sample at or before each
    after = np.minimum.accumulate(np.where(finite, index, len(values))[::-1])[::-1]  # the first at or after
    fill = ~finite & (before >= 0) & (after < len(values))
    fill[fill] = t[after[fill]] - t[before[fill]] - 2 * frame_s < bridge_s - 1e-9
    b, a = before[fill], after[fill]
    out[fill] = values[b] + (t[fill] - t[b]) / (t[a] - t[b]) * (values[a] - values[b])
    return out


def _filter_runs(values: np.ndarray, t: np.ndarray, cutoff_hz: float, bridge_s: float = GAP_BRIDGE_S) -> np.ndarray:
    """Low-pass each finite run of `values` on its own; short gaps are bridged for the filter, and every gap
    stays NaN in the output (a frame nobody was seen in is not made up).

    A 5-sample median first removes single-frame landmark glitches (a hip that jumps for one frame),
    which a linear filter would only spread out. Bridging matters as much: without it a dropout of one frame
    every few frames leaves runs too short to filter, and their glitches reach the counter unsmoothed."""
    out = values.copy()
    frame_s = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
    fs = 1.0 / frame_s if frame_s > 0 else 0.0
    if fs <= 2 * cutoff_hz:
        return out
    b, a = butter(2, cutoff_hz / (fs / 2))
    filled = _bridged(values, t, frame_s, bridge_s)
    finite = np.isfinite(filled)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], finite.astype(np.int8), [0]))))
    for start, stop in zip(edges[::2], edges[1::2]):
        if stop - start > 3 * max(len(a), len(b)):
            out[start:stop] = filtfilt(b, a, median_filter(filled[start:stop], size=5, mode="nearest"))
    out[~np.isfinite(values)] = np.nan
    return out


def zero_phase(records: list[Kinematics], cutoff_hz: float = CUTOFF_HZ) -> list[Kinematics]:
    """The same records with every angle low-passed forwards and backwards. A frame with nobody in it
    measured nothing (its visibilities read 0): it is a gap to the filters and comes back as it was."""
    if len(records) < 4:
        return list(records)
    t = np.array([r.t_s for r in records])
    seen = np.array([r.present for r in records])
    columns = {name: _filter_runs(np.where(seen, np.array([getattr(r, name) for r in records], float), np.nan),
                                  t, cutoff_hz)
               for name in SMOOTHED_FIELDS}
    return [replace(r, **{name: float(columns[name][i]) for name in SMOOTHED_FIELDS}) if r.present else r
            for i, r in enumerate(records)]


class OneEuro:
    """One-Euro filter (Casiez et al. 2012) for one signal with irregular timestamps.

    Each step is the low-pass's exact response over the time since the last sample (1 − e^(−dt/τ)), not the
    paper's first-order approximation dt / (dt + τ): the two agree at camera rates, but across the gaps of a
    busy server (a frame every 0.3–1 s) the approximation kept several per cent of the value before the gap:
    a foot put down a leg length still read 0.077 leg lengths up, above the balance checker's 0.05."""

    def __init__(self, min_cutoff_hz: float = 1.0, beta: float = 0.05, d_cutoff_hz: float = 1.0,
                 bridge_s: float = GAP_BRIDGE_S):
        self.min_cutoff, self.beta, self.d_cutoff, self.bridge_s = min_cutoff_hz, beta, d_cutoff_hz, bridge_s
        self._x = self._dx = self._t = None

    @staticmethod
    def _alpha(cutoff: float, dt: float) -> float:
        tau = 1.0 / (2 * math.pi * cutoff)
        return -math.expm1(-dt / tau)

    def __call__(self, x: float, t: float) -> float:
        """The filtered value at `t`. A missing value (NaN) stays missing but leaves the filter as it was, so a
        dropout of a frame or two does not let the next raw value through unsmoothed; a value more than
        `bridge_s` after the last one starts the filter afresh."""
        if not math.isfinite(x):
            return x
        if self._x is None or t <= self._t or t - self._t > self.bridge_s:
            self._x, self._dx, self._t = x, 0.0, t
            return x
        dt = t - self._t
        dx = (x - self._x) / dt
        self._dx += self._alpha(self.d_cutoff, dt) * (dx - self._dx)
        cutoff = self.min_cutoff + self.beta * abs(self._dx)
        self._x += self._alpha(cutoff, dt) * (x - self._x)
        self._t = t
        return self._x


GLITCH_SPAN_S = 0.15  # three frames this close together came at camera rate (≥ 15 frames a second)


class Deglitch:
    """Live: the median of the last three samples, when they came at camera rate. A landmark glitch lasts a
    frame (a knee that jumps 50° and back), and One-Euro, quick while the body moves, would pass most of it;
    the median drops it for one frame's delay (≤ 70 ms). Sparser frames (a busy server) pass as they are:
    a few frames a second, a frame that differs is movement, and a frame's delay would be a third of a second."""

    def __init__(self, span_s: float = GLITCH_SPAN_S, bridge_s: float = GAP_BRIDGE_S):
        self.span_s, self.bridge_s = span_s, bridge_s
        self._recent: deque[tuple[float, float]] = deque(maxlen=3)

    def __call__(self, x: float, t: float) -> float:
        if not math.isfinite(x):
            return x
        if self._recent and not 0 < t - self._recent[-1][0] <= self.bridge_s:
            self._recent.clear()
        self._recent.append((t, x))
        if len(self._recent) == 3 and t - self._recent[0][0] <= self.span_s:
            return sorted(v for _, v in self._recent)[1]
        return x


BETA_PER_DEG = 0.05  # One-Euro's speed coefficient for angles: the cut-off rises 1 Hz per 20°/s of movement
DEG_PER_BODY_LENGTH = 60.0  # a limb turning 60° moves its end by about its own length


def one_euro_beta(field: str) -> float:
    """The speed coefficient for a field in its own unit (units are in the names): one coefficient for every
    field would leave ratios of body lengths (a foot's lift, a back's bow), whose speeds are ~1/s where
    angles' are ~100°/s, a fixed 1 Hz low-pass, seconds behind a foot put down at a few frames a second."""
    if field.endswith("_deg") or field.endswith(("_x", "_y", "_px")):
        return BETA_PER_DEG  # pixels move about as many per second as angles turn degrees
    return BETA_PER_DEG * DEG_PER_BODY_LENGTH  # body-length ratios, visibility, facing


class LiveSmoother:
    """Per measured field, a glitch's frame dropped and a One-Euro filter tuned to its unit, record by record."""

    def __init__(self):
        self._deglitch = {name: Deglitch() for name in SMOOTHED_FIELDS}
        self._filters = {name: OneEuro(beta=one_euro_beta(name)) for name in SMOOTHED_FIELDS}

    def __call__(self, record: Kinematics) -> Kinematics:
        if not record.present:
            return record  # nothing measured: the filters wait for the person (see OneEuro on gaps)
        t = record.t_s
        return replace(record, **{n: f(self._deglitch[n](getattr(record, n), t), t) for n, f in self._filters.items()})
