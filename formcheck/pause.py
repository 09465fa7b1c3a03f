"""Named points where a test can hold a long job: a test that needs an analysis under way makes it wait on
purpose (a file it controls) instead of hoping the machine is slow. Only tests set FORMCHECK_TEST_PAUSE_DIR;
without it a point costs one environment lookup."""

from __future__ import annotations

import os
import time
from pathlib import Path

ENV = "FORMCHECK_TEST_PAUSE_DIR"


def point(name: str) -> None:
    """Wait here while the folder holds a file called `name`; `name.reached` (this process's id) says who waits."""
    folder = os.environ.get(ENV)
    if not folder or not (Path(folder) / name).exists():
        return
    with open(Path(folder) / f"{name}.reached", "a") as note:
        note.write(f"{os.getpid()}\n")
    while (Path(folder) / name).exists():
        time.sleep(0.05)


def hold(folder: Path, name: str) -> None:
    """Hold every job that reaches point `name` (the test's side)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).touch()


def release(folder: Path, name: str) -> None:
    """Let the jobs held at `name` go on."""
    (folder / name).unlink(missing_ok=True)


def reached(folder: Path, name: str) -> list[int]:
    """The processes that have waited at `name` so far."""
    note = folder / f"{name}.reached"
    return [int(pid) for pid in note.read_text().split()] if note.exists() else []
