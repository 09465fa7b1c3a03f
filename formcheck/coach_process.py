"""A live session's coach in a process of its own, so the server's process only moves video.

The server's event loop carries every patient's video packets and every page's messages. When the coaching
(pose inference, the session, the overlay) ran on threads of the same process, their Python work held the
interpreter lock the loop needed after each packet it read or sent: with four live sessions on two cores the
loop fell 15 s behind its sockets (benchmarks/load_concurrency.py). Here each session's `LiveCoach` runs in a
child process started with the set's first frame; the server sends it frames and gets the drawn frame and
the counters back, one frame at a time. A child ends with its pipe or its server (formcheck/child.py).
"""

from __future__ import annotations

import os
import subprocess
import threading
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
        self._ready = False
        self._snapshot = BEFORE_FIRST_FRAME
        self._finished = False

    def start(self, wait_s: float = 0.0) -> bool:
        """Start the child if it is not running; wait up to `wait_s` for it to be ready. Whether it is."""
        if self._child is None:
            self._conn, self._child = child.start(__name__)
            self._send((self.exercise, self.params, self.variant))
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
            self._send((rgb, t_s))
            out, self._snapshot = self._answer(ANSWER_TIMEOUT_S)
            return out

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


def serve(conn: Connection) -> None:
    """The child: the set's (exercise, params, variant); the model loaded, READY; then frames in and (drawn
    frame, snapshot) out, until the finish message (None) or a closed pipe."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, COACH_NICE)  # not the media loop's raised priority it was started from
    except OSError:
        pass
    try:
        exercise, params, variant = conn.recv()
    except (EOFError, OSError):
        return
    spec = CATALOGUE[exercise]
    coach = LiveCoach(exercise, params, variant, estimator=PoseEstimator(variant, masks=spec.needs_mask))
    try:
        conn.send(READY)
        while (message := conn.recv()) is not None:
            rgb, t_s = message
            conn.send((coach.process(rgb, t_s), coach.snapshot()))
        conn.send(coach.finish())
    except (EOFError, OSError):
        coach.finish()  # the server went away: release the model and end


if __name__ == "__main__":
    serve(child.parent())
