"""Shared test helpers: where the real clips are, the fixtures, and synthetic kinematics."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from formcheck.kinematics import Kinematics

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
VIDEOS = SHARED / "videos"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def clip(name: str) -> Path:
    path = VIDEOS / name
    if not path.exists():  # the brief promises ../shared beside the repo: a missing clip is a failure, not a skip
        pytest.fail(f"real clip {path} is missing: ../shared/videos must sit beside the repository")
    return path


# Argon2 at its least cost, for the tests of the clinic's rules (who may do what, doses, flags), which sign
# people in many times: the cost is tests/test_accounts.py's subject, tested at the server's own.
QUICK_PASSWORDS = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def lying(t: float, hip_flexion: float, knee: float = 170.0, **extra) -> Kinematics:
    """A side-on, lying, fully visible frame with both legs at the given hip flexion. Each foot's lift off the
    floor follows from its leg's hip flexion and knee angle (thigh and shin of equal length), unless given."""
    fields = dict(t_s=t, present=True, people=1, knee_left_deg=knee, knee_right_deg=knee,
                  hip_left_deg=180 - hip_flexion, hip_right_deg=180 - hip_flexion, vis_leg_left=0.9,
                  vis_leg_right=0.9, trunk_incline_deg=88.0, shoulder_spread=0.1, body_in_frame=True,
                  body_visible=True, torso_px=200.0, hip_mid_x=300.0, hip_mid_y=300.0)
    fields.update(extra)
    for side in ("left", "right"):
        flexion, bend = math.radians(180 - fields[f"hip_{side}_deg"]), math.radians(180 - fields[f"knee_{side}_deg"])
        height = (math.sin(flexion) + math.sin(flexion - bend)) / 2
        fields.setdefault(f"leg_lift_{side}_deg", math.degrees(math.asin(max(-1.0, min(1.0, height)))))
    return Kinematics(**fields)


def standing(t: float, lift: float, **extra) -> Kinematics:
    """A front-on, standing, fully visible frame; `lift` = left foot above the right, in leg lengths."""
    fields = dict(t_s=t, present=True, people=1, knee_left_deg=175.0, knee_right_deg=175.0, hip_left_deg=175.0,
                  hip_right_deg=175.0, vis_leg_left=0.9, vis_leg_right=0.9, trunk_incline_deg=3.0,
                  shoulder_spread=0.7, body_in_frame=True, body_visible=True, torso_px=200.0, hip_mid_x=300.0,
                  hip_mid_y=300.0, ankle_lift_left=lift, ankle_left_x=280.0, ankle_left_y=600.0,
                  ankle_right_x=320.0, ankle_right_y=600.0)
    fields.update(extra)
    return Kinematics(**fields)


def leg_raise_flexion(t: float, period: float = 3.0, top: float = 80.0, rest: float = 5.0) -> float:
    """Smooth lift-and-lower cycles: rest → top → rest every `period` seconds."""
    return rest + (top - rest) * 0.5 * (1 - math.cos(2 * math.pi * t / period))


# --- the suite's order and its inner loop ----------------------------------------------------------------

# The longest modules start first, so that the workers (pytest-xdist, --dist loadfile) end together.
LONGEST_FIRST = ("test_several_patients", "test_server_crash", "test_jobs", "test_browser_pose", "test_integration",
                 "test_remote_loop", "test_accounts_page", "test_workout_page", "test_safety_page", "test_browser",
                 "test_bad_input", "test_people_in_view")
SLOW_MODULES = {"test_jobs"}  # slow without the real model: Celery workers on Redis, an S3 server


def pytest_collection_modifyitems(config, items):
    """`slow`: every integration test and SLOW_MODULES (`scripts/test -m "not slow"` is the inner loop); the
    longest modules first (a stable sort: each module's tests stay together and in order)."""
    for item in items:
        if item.get_closest_marker("integration") or item.module.__name__ in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.module.__name__, len(rank)))


# --- processes (a server and what it started) ----------------------------------------------------

def stat_fields(path: str | Path) -> list[str]:
    """A /proc/<pid>/stat (or task stat) line's fields after the command name: [0] is field 3 of proc(5),
    the state; [k] is field k + 3. Raises OSError when the process is gone."""
    return Path(path).read_text().rsplit(")", 1)[1].split()


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie, exited but not yet reaped, does not)."""
    try:
        return stat_fields(f"/proc/{pid}/stat")[0] != "Z"
    except OSError:
        return False


def ends_within(pid: int, seconds: float) -> bool:
    """Whether the process has ended, or ends within `seconds`."""
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_fields(stat)
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


# --- the real browser (Debian's Chromium via Playwright) with a real clip as its camera ------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


# --- which camera frame a picture shows: an index stamped on each frame (tests and live benchmarks) ----------

STAMP_BITS, STAMP_BLOCK = 16, 20  # the index as 16 black/white blocks of 20×20 px, top right of a 640-wide frame

# In a page (with `bits` and `block` in scope): `out`, the video coming back; `cam`, a second capture of the
# same fake camera; read(video), the index stamped on what a video shows now.
STAMP_JS = """
  const out = document.querySelector('video');
  const cam = document.createElement('video');
  cam.muted = true; cam.srcObject = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 480}});
  await cam.play();
  const canvas = new OffscreenCanvas(bits * block, block);
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const read = (video) => {  // only the stamp is drawn: the probe must not take the CPU it measures
    const k = video.videoWidth / 640;
    ctx.drawImage(video, video.videoWidth - bits * block * k, 0, bits * block * k, block * k,
                  0, 0, bits * block, block);
    const px = ctx.getImageData(0, 0, bits * block, block).data;
    let v = 0;
    for (let i = 0; i < bits; i++) { const x = i * block + block / 2, y = block / 2;
      v = v * 2 + (px[(y * bits * block + x) * 4] > 128 ? 1 : 0); }
    return v;
  };
"""


def stamp(canvas, index: int) -> None:
    """Draw `index` in the top bar of a 640-wide RGB frame, as STAMP_JS reads it."""
    left = 640 - STAMP_BITS * STAMP_BLOCK
    canvas[:STAMP_BLOCK, left:] = 0
    for i in range(STAMP_BITS):
        if (index >> (STAMP_BITS - 1 - i)) & 1:
            canvas[:STAMP_BLOCK, left + i * STAMP_BLOCK:left + (i + 1) * STAMP_BLOCK] = 255


def letterboxed(rgb, name: str = "the clip"):
    """A picture scaled to 640 wide and centred in a black 640×480 frame, with room above it for the stamp."""
    import cv2
    import numpy as np

    h = int(rgb.shape[0] * 640 / rgb.shape[1]) // 2 * 2
    assert h <= 480 - 2 * STAMP_BLOCK, f"{name}: no room for the stamp above the picture"
    canvas = np.zeros((480, 640, 3), np.uint8)
    top = (480 - h) // 2
    canvas[top:top + h] = cv2.resize(rgb, (640, h), interpolation=cv2.INTER_AREA)
    return canvas


@pytest.fixture(scope="module")
def camera(tmp_path_factory):
    from formcheck.video import write_y4m

    return write_y4m(clip("legraise_supine_dk2.mp4"), tmp_path_factory.mktemp("cam") / "dk2.y4m")


@pytest.fixture(scope="module")
def browser(camera):
    """One Chromium per test module (each new_page is a context of its own: no cookies or storage shared)."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is not installed"
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=CHROMIUM_FLAGS + [f"--use-file-for-fake-video-capture={camera}"])
        yield chromium
        chromium.close()


