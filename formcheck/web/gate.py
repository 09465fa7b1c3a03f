"""One landmark stream's rules across frames: times only go forward, and no more frames are judged than a camera
makes. Each frame alone is checked by wire.parse_frame; the gate drops and counts what breaks either, so a bad
frame costs the server little and the socket can tell a bad stream (and why) from a few lost frames."""

from __future__ import annotations

import time
from collections import Counter, deque

from .wire import BadFrame, Frame, parse_frame

MAX_FPS = 60  # frames accepted in any 1-s window (cameras give 30, at most 60)
WINDOW_S = 1.0


class FrameGate:
    """`admit(data)`: the frame, or None when it is dropped; `dropped` counts the drops by reason."""

    def __init__(self, width: int, height: int, max_fps: int = MAX_FPS, clock=time.monotonic):
        self.width, self.height, self.max_fps = width, height, max_fps
        self._clock = clock
        self._arrivals: deque[float] = deque()  # the accepted frames' arrival times within the last WINDOW_S
        self._last_t_s: float | None = None
        self.accepted = 0
        self.dropped: Counter[str] = Counter()
        self.last_drop: BadFrame | None = None

    def admit(self, data: bytes) -> Frame | None:
        try:
            frame = parse_frame(data, self.width, self.height)
            self._check(frame, self._clock())
        except BadFrame as bad:
            self.dropped[bad.reason] += 1
            self.last_drop = bad
            return None
        self.accepted += 1
        return frame

    def _check(self, frame: Frame, now: float) -> None:
        if self._last_t_s is not None and frame.t_s <= self._last_t_s:
            raise BadFrame("time_order", f"frame time {frame.t_s:.3f} s is not after the last, {self._last_t_s:.3f} s")
        while self._arrivals and self._arrivals[0] <= now - WINDOW_S:
            self._arrivals.popleft()
        if len(self._arrivals) >= self.max_fps:
            raise BadFrame("too_fast", f"more than {self.max_fps} frames in a second")
        self._arrivals.append(now)
        self._last_t_s = frame.t_s
