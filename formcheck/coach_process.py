"""A live session's coach in a process of its own, so the server's process only moves video.

The server's event loop carries every patient's video packets and every page's messages. When the coaching
(pose inference, the session, the overlay) ran on threads of the same process, their Python work held the
interpreter lock the loop needed after each packet it read or sent: with four live sessions on two cores the
loop fell 15 s behind its sockets (benchmarks/load_concurrency.py). Here each session's `LiveCoach` runs in a
child process started with the set's first frame; the server sends it frames and gets the drawn frame and
the counters back, one frame at a time. A child ends with its pipe or its server (formcheck/child.py).
"""

from __future__ import annotations

import mmap
import os
import subprocess
import threading
import weakref
from multiprocessing import reduction
from multiprocessing.connection import Connection

import numpy as np

from . import child, models
from .exercises import CATALOGUE
from .live import BEFORE_FIRST_FRAME, LiveCoach, LiveSet, LiveSnapshot
from .pose import PoseEstimator

START_TIMEOUT_S = 120.0  # a child's start (interpreter, imports, model) on a loaded machine
ANSWER_TIMEOUT_S = 30.0  # one frame, or the set's analysis
READY = "ready"
COACH_NICE = 0  # the coach's CPU priority: the server's, never the media loop's (formcheck/webrtc.py)


class CoachGone(child.ChildGone):
    """The coach's process ended or stopped answering."""


class SharedFrame:
    """A frame's pixels in memory both processes map (a memfd passed to the child): the pipe carries only the
    frame's shape and time, not 1 MB each way (which cost ~6 ms a frame, a fifth of the model's time)."""

    def __init__(self, fd: int):
        self.fd, self._map = fd, None

    def pixels(self, shape: tuple[int, ...], grow: bool = False) -> np.ndarray:
        """The shared pixels as an array of `shape`; the server grows the memory to fit (`grow`)."""
        size = int(np.prod(shape))
        if grow and os.fstat(self.fd).st_size < size:
            os.ftruncate(self.fd, size)
        if self._map is None or len(self._map) < size:
            self._map = mmap.mmap(self.fd, os.fstat(self.fd).st_size)  # the old map goes with its last view
        return np.frombuffer(self._map, np.uint8, size).reshape(shape)


class CoachProcess(LiveSet):
    """`LiveCoach`'s interface (process, snapshot, set_progress, finish) with the coach in a child process.

    The child starts with the set's first frame and takes seconds to load the model; until it is ready,
    frames pass through as they are (the frame callback must not block: streamlit-webrtc ends a session
    whose callback takes over 10 s)."""

    def __init__(self, exercise: str, params: dict | None = None, variant: str = models.DEFAULT_VARIANT):
        super().__init__(exercise, params)
        self.variant = variant
        self._lock = threading.Lock()  # one frame in flight; finish() waits for it
        self._conn: Connection | None = None
        self._child: subprocess.Popen | None = None
        self._frame: SharedFrame | None = None
        self._ready = False
        self._snapshot = BEFORE_FIRST_FRAME
        self._finished = False

    def start(self, wait_s: float = 0.0) -> bool:
        """Start the child if it is not running; wait up to `wait_s` for it to be ready. Whether it is."""
        if self._child is None:
            self._conn, self._child = child.start(__name__)
            self._frame = SharedFrame(os.memfd_create("formcheck-frame"))
            self._release_frame = weakref.finalize(self, os.close, self._frame.fd)  # also if never finished
            self._send((self.exercise, self.params, self.variant))
            reduction.send_handle(self._conn, self._frame.fd, self._child.pid)
        if not self._ready and self._conn.poll(wait_s):
            self._ready = self._answer(0) == READY
        return self._ready

    def _answer(self, timeout_s: float):
        try:
            if not self._conn.poll(timeout_s):
                raise CoachGone(f"the coach did not answer within {timeout_s:.0f} s")
            return self._conn.recv()
        except (EOFError, OSError) as exc:
            raise CoachGone("the coach's process ended") from exc

    def _send(self, message) -> None:
        try:
            self._conn.send(message)
        except OSError as exc:
            raise CoachGone("the coach's process ended") from exc

    def process(self, rgb: np.ndarray, t_s: float) -> np.ndarray:
        """One camera frame in, the same frame with the overlay out (the child's LiveCoach.process)."""
        with self._lock:
            if self._finished:
                return rgb
            if not self.start():
                return rgb  # still starting: the camera as it is
            self._frame.pixels(rgb.shape, grow=True)[:] = rgb
            self._send((rgb.shape, t_s))
            self._snapshot = self._answer(ANSWER_TIMEOUT_S)
            return self._frame.pixels(rgb.shape).copy()

    def snapshot(self) -> LiveSnapshot:
        return self._snapshot

    def finish(self):
        """End of the set: the child's analysis of everything seen (None if no frame came); the child exits."""
        with self._lock:
            self._finished = True
            if self._child is None:
                return None
            try:
                if not self.start(START_TIMEOUT_S):
                    raise CoachGone(f"the coach did not start within {START_TIMEOUT_S:.0f} s")
                self._send(None)
                return self._answer(ANSWER_TIMEOUT_S)
            finally:
                child.stop(self._conn, self._child)
                self._release_frame()


def serve(conn: Connection) -> None:
    """The child: the set's (exercise, params, variant) and its shared frame; the model loaded, READY; then
    per frame (shape, time) in, the frame drawn in place and the snapshot out, until the finish message (None)
    or a closed pipe."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, COACH_NICE)  # not the media loop's raised priority it was started from
    except OSError:
        pass
    try:
        exercise, params, variant = conn.recv()
        frame = SharedFrame(reduction.recv_handle(conn))
    except (EOFError, OSError):
        return
    spec = CATALOGUE[exercise]
    coach = LiveCoach(exercise, params, variant, estimator=PoseEstimator(variant, masks=spec.needs_mask))
    try:
        conn.send(READY)
        while (message := conn.recv()) is not None:
            shape, t_s = message
            pixels = frame.pixels(shape)
            pixels[:] = coach.process(pixels.copy(), t_s)  # the drawn frame back in place
            conn.send(coach.snapshot())
        conn.send(coach.finish())
    except (EOFError, OSError):
        coach.finish()  # the server went away: release the model and end


if __name__ == "__main__":
    serve(child.parent())
