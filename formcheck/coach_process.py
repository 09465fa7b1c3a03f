"""A live session's coach in a process of its own, so the server's process only moves video.

The server's event loop carries every patient's video packets and every page's messages. When the coaching
(pose inference, the session, the overlay) ran on threads of the same process, their Python work held the
interpreter lock the loop needed after each packet it read or sent: with four live sessions on two cores the
loop fell 15 s behind its sockets (tests/test_several_patients.py). Here each session's `LiveCoach` runs in a
child process, started when the page shows the set; the server sends it frames and gets the drawn frame and
the counters back, one frame at a time. A child ends with its pipe or its server (formcheck/child.py).
"""

from __future__ import annotations

import math
import mmap
import os
import subprocess
import threading
import time
import weakref
from multiprocessing import reduction
from multiprocessing.connection import Connection

import av
import numpy as np

from . import child, models, pause
from .exercises import CATALOGUE
from .live import BEFORE_FIRST_FRAME, LiveCoach, LiveSet, LiveSnapshot
from .pose import PoseEstimator
from .workout import WorkoutPlan

ANSWER_TIMEOUT_S = 30.0  # one frame, or the set's analysis
READY = "ready"
COACH_NICE = 0  # the coach's CPU priority: the server's, never the media loop's (formcheck/webrtc.py)
# While the child starts, the camera goes back as it is, at most this often: every frame sent back is encoded
# here and decoded by the browser, and at the camera's full rate a loaded browser fell seconds behind.
PASSTHROUGH_FPS = 5.0
IDLE_EXIT_S = 600.0  # a coach started ahead of its set (the page open, START not pressed) ends after this


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

    The child takes seconds to start (interpreter, imports, model; tens of seconds on a loaded server), so
    the page starts it ahead, when it shows the live set (`start`); a child nobody sends a frame ends after
    IDLE_EXIT_S, and a first frame after half of that starts a new one. Until it is ready, camera frames go
    back as they are, PASSTHROUGH_FPS at most, and the others are not sent (None): the frame callback must
    not block, as streamlit-webrtc ends a session whose callback takes over 10 s."""

    def __init__(self, exercise: str, params: dict | None = None, variant: str = models.DEFAULT_VARIANT,
                 plan: WorkoutPlan | None = None):
        super().__init__(exercise, params, plan)
        self.variant = variant
        self.idle_exit_s = IDLE_EXIT_S
        self._lock = threading.Lock()  # one frame in flight; finish() waits for it
        self._conn: Connection | None = None
        self._child: subprocess.Popen | None = None
        self._frame: SharedFrame | None = None
        self._ready = False
        self._snapshot = BEFORE_FIRST_FRAME
        self._finished = False
        self.frames_sent = 0  # camera frames handed to the child (a set under way)
        self._started_at, self._child_idle_s = -math.inf, IDLE_EXIT_S  # when the child was started, its idle exit
        self._passed_at = -math.inf  # when a camera frame last went back as it was

    def start(self, wait_s: float = 0.0) -> bool:
        """Start the child if it is not running; wait up to `wait_s` for it to be ready. Whether it is."""
        with self._lock:
            return self._start(wait_s)

    def _start(self, wait_s: float = 0.0) -> bool:
        if self._child is not None and not self.frames_sent and \
                time.monotonic() - self._started_at > self._child_idle_s / 2:
            # Started ahead and not used: it ends itself at its idle exit (or has). Half of it, so that a first
            # frame never races that exit; its pipe closed, it ends now if it has not.
            self._stop_child(wait=False)
        if self._child is None:
            self._started_at, self._child_idle_s = time.monotonic(), self.idle_exit_s
            self._conn, self._child = child.start(__name__)
            self._frame = SharedFrame(os.memfd_create("formcheck-frame"))
            self._release_frame = weakref.finalize(self, os.close, self._frame.fd)  # also if never finished
            self._send((self.exercise, self.params, self.variant, self.idle_exit_s, self.plan))
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

    def process(self, rgb: np.ndarray, t_s: float) -> np.ndarray | None:
        """One camera frame in, the same frame with the overlay out (the child's LiveCoach.process); while the
        child starts, the camera as it is, or None: nothing new to send."""
        with self._lock:
            if self._finished:
                return rgb
            if not self._start():
                now_s = time.monotonic()
                if now_s - self._passed_at < 1 / PASSTHROUGH_FPS:
                    return None
                self._passed_at = now_s
                return rgb
            self.frames_sent += 1  # counted when tried: a child lost mid-set is an error at its end too
            self._frame.pixels(rgb.shape, grow=True)[:] = rgb
            self._send((rgb.shape, t_s))
            self._snapshot = self._answer(ANSWER_TIMEOUT_S)
            return self._frame.pixels(rgb.shape).copy()

    def process_video_frame(self, frame: av.VideoFrame) -> av.VideoFrame | None:
        """`process` as streamlit-webrtc's frame callback: the drawn frame, stamped as its camera frame was, or
        None while the child starts (nothing new to send)."""
        t_s = float(frame.time) if frame.time is not None else time.monotonic()
        drawn = self.process(frame.to_ndarray(format="rgb24"), t_s)
        if drawn is None:
            return None
        out = av.VideoFrame.from_ndarray(drawn, format="rgb24")
        out.pts, out.time_base = frame.pts, frame.time_base
        return out

    def snapshot(self) -> LiveSnapshot:
        return self._snapshot

    def finish(self):
        """End of the set: the child's analysis of everything seen (None if no frame came); the child exits."""
        with self._lock:
            self._finished = True
            if not self.frames_sent:
                self._stop_child(wait=False)  # nothing to summarise: the child ends on the closed pipe
                return None
            try:
                self._send(None)  # it was ready: it answered the frames
                return self._answer(ANSWER_TIMEOUT_S)
            finally:
                self._stop_child()

    def _stop_child(self, wait: bool = True) -> None:
        if self._child is not None:
            if wait:
                child.stop(self._conn, self._child)
            else:
                self._conn.close()  # a child still loading its model ends when it answers; Popen reaps it later
            self._release_frame()
            self._conn = self._child = self._frame = None
            self._ready = False


def serve(conn: Connection) -> None:
    """The child: the (exercise, params, variant, idle exit s, plan of sets) and its shared frame; the model loaded,
    READY; then per frame (shape, time) in, the frame drawn in place and the snapshot out, until the finish
    message (None) or a closed pipe, or no first frame within the idle exit time."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, COACH_NICE)  # not the media loop's raised priority it was started from
    except OSError:
        pass
    try:
        exercise, params, variant, idle_exit_s, plan = conn.recv()
        frame = SharedFrame(reduction.recv_handle(conn))
    except (EOFError, OSError):
        return
    pause.point("coach_start")  # tests hold a coach still starting here (formcheck/pause.py)
    spec = CATALOGUE[exercise]
    coach = LiveCoach(exercise, params, variant, estimator=PoseEstimator(variant, masks=spec.needs_mask), plan=plan)
    try:
        conn.send(READY)
        if not conn.poll(idle_exit_s):
            coach.finish()  # started ahead of a set that never came: release the model and end
            return
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
