"""Smoothing the measured angles: zero-phase low-pass offline, One-Euro live.

Landmark jitter is a few degrees from frame to frame; counting and fault timing must not see it.
Offline the whole series is known, so a Butterworth filter run forwards and backwards (SciPy's
`filtfilt`) smooths without delay. Live only the past is known, so a One-Euro filter adapts its
cut-off to the speed of the movement: steady when still, quick when moving.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import butter, filtfilt

from .kinematics import SMOOTHED_FIELDS, Kinematics

CUTOFF_HZ = 3.0  # human exercise movement lives well below this; jitter lives above


def _filter_runs(values: np.ndarray, fs: float, cutoff_hz: float) -> np.ndarray:
    """Low-pass each finite run of `values` on its own (NaN gaps stay NaN).

    A 5-sample median first removes single-frame landmark glitches (a hip that jumps for one frame),
    which a linear filter would only spread out."""
    out = values.copy()
    if fs <= 2 * cutoff_hz:
        return out
    b, a = butter(2, cutoff_hz / (fs / 2))
    finite = np.isfinite(values)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], finite.astype(np.int8), [0]))))
    for start, stop in zip(edges[::2], edges[1::2]):
        if stop - start > 3 * max(len(a), len(b)):
            out[start:stop] = filtfilt(b, a, median_filter(values[start:stop], size=5, mode="nearest"))
    return out


def zero_phase(records: list[Kinematics], cutoff_hz: float = CUTOFF_HZ) -> list[Kinematics]:
    """The same records with every angle low-passed forwards and backwards."""
    if len(records) < 4:
        return list(records)
    t = np.array([r.t_s for r in records])
    fs = 1.0 / float(np.median(np.diff(t))) if len(t) > 1 else 0.0
    columns = {name: _filter_runs(np.array([getattr(r, name) for r in records], float), fs, cutoff_hz)
               for name in SMOOTHED_FIELDS}
    return [replace(r, **{name: float(columns[name][i]) for name in SMOOTHED_FIELDS}) for i, r in enumerate(records)]


class OneEuro:
    """One-Euro filter (Casiez et al. 2012) for one signal with irregular timestamps.

    Each step is the low-pass's exact response over the time since the last sample (1 − e^(−dt/τ)), not the
    paper's first-order approximation dt / (dt + τ): the two agree at camera rates, but across the gaps of a
    busy server (a frame every 0.3–1 s) the approximation kept several per cent of the value before the gap:
    a foot put down a leg length still read 0.077 leg lengths up, above the balance checker's 0.05."""

    def __init__(self, min_cutoff_hz: float = 1.0, beta: float = 0.05, d_cutoff_hz: float = 1.0):
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff_hz, beta, d_cutoff_hz
        self._x = self._dx = self._t = None

    @staticmethod
    def _alpha(cutoff: float, dt: float) -> float:
        tau = 1.0 / (2 * math.pi * cutoff)
        return -math.expm1(-dt / tau)

    def __call__(self, x: float, t: float) -> float:
        if not math.isfinite(x):
            self._x = self._dx = self._t = None  # a gap restarts the filter
            return x
        if self._x is None or t <= self._t:
            self._x, self._dx, self._t = x, 0.0, t
            return x
        dt = t - self._t
        dx = (x - self._x) / dt
        self._dx += self._alpha(self.d_cutoff, dt) * (dx - self._dx)
        cutoff = self.min_cutoff + self.beta * abs(self._dx)
        self._x += self._alpha(cutoff, dt) * (x - self._x)
        self._t = t
        return self._x


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
    """One One-Euro filter per measured field, tuned to its unit, applied record by record."""

    def __init__(self):
        self._filters = {name: OneEuro(beta=one_euro_beta(name)) for name in SMOOTHED_FIELDS}

    def __call__(self, record: Kinematics) -> Kinematics:
        return replace(record, **{n: f(getattr(record, n), record.t_s) for n, f in self._filters.items()})
