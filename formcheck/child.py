"""Work in a child interpreter, so the server's process keeps its interpreter lock for the pages and the video.

The server's threads share one interpreter lock, and its event loop needs it after every packet it reads:
with the coaching and the uploads' analyses on threads of the server, four live pages and two uploads on two
cores left the loop seconds behind its sockets (tests/test_several_patients.py). Their work runs here instead.

`start(module)` runs `python -m module FD` with one end of a pipe inherited as FD (a fresh interpreter, not
multiprocessing's spawn, which would import the server's main module, Streamlit, into every child); the
module's main takes its end with `parent()`, which also ends the child when the server is gone.
`call(function, *args)` runs one function there, its progress reported back as it goes.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import threading
import time
from multiprocessing import Pipe
from multiprocessing.connection import Connection

from .errors import FormcheckError


class ChildGone(FormcheckError):
    """A child process ended without its answer."""


def start(module: str) -> tuple[Connection, subprocess.Popen]:
    """`python -m module FD` and our end of its pipe."""
    ours, theirs = Pipe()
    child = subprocess.Popen([sys.executable, "-m", module, str(theirs.fileno())], pass_fds=[theirs.fileno()],
                             stdin=subprocess.DEVNULL)
    theirs.close()
    return ours, child


def stop(conn: Connection, child: subprocess.Popen, wait_s: float = 5.0) -> None:
    """Close our end (a child waiting on it then ends) and reap the child, killing it if it lingers."""
    conn.close()
    try:
        child.wait(wait_s)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def parent() -> Connection:
    """In the child: its end of the pipe. The child ends itself once its server has gone (a killed server
    cannot tell it to), checked twice a second, whatever it is doing."""
    server = os.getppid()

    def watch() -> None:
        while os.getppid() == server:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="formcheck-server-watch", daemon=True).start()
    return Connection(int(sys.argv[1]))


def call(function, *args, progress=None):
    """`function(*args, progress=…)` in a child: its result, or the FormcheckError it raised; its progress
    calls (done, total) are made here, in order, while it runs."""
    conn, child = start(__name__)
    try:
        conn.send((function.__module__, function.__name__, args))
        while True:
            try:
                kind, value = conn.recv()
            except (EOFError, OSError):
                raise ChildGone("the analysis stopped unexpectedly (its process ended): try again") from None
            if kind == "progress":
                if progress:
                    progress(*value)
            elif kind == "result":
                return value
            else:
                raise value
    finally:
        stop(conn, child)


def _serve_call(conn: Connection) -> None:
    module, name, args = conn.recv()
    function = getattr(importlib.import_module(module), name)
    try:
        answer = ("result", function(*args, progress=lambda done, total: conn.send(("progress", (done, total)))))
    except FormcheckError as exc:
        answer = ("error", exc)
    conn.send(answer)


if __name__ == "__main__":
    try:
        _serve_call(parent())
    except (EOFError, OSError):  # the server went away mid-call: nobody to answer
        pass
