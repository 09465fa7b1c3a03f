"""Several patients on one server at once, in real browsers: four live pages, each Chromium with a real clip
as its camera, and two uploads from a fifth. The set-up is shared by the functional test
(tests/test_several_patients.py: no cross-talk, nothing stalls for good, uploads as alone) and the benchmark
(benchmarks/bench_several_patients.py: round trips, CPU and memory).

    tree  single-leg balance   one ~6 s stance a loop (7.2 s), no reps
    dk1   straight-leg raise   3 reps a loop (12.7 s), no knee fault
    dk2   straight-leg raise   3 reps a loop (8.6 s), "Keep your knee straight"
    dk4   straight-leg raise   3 reps a loop (13.3 s), no knee fault

Each camera clip is letterboxed to 640×480 at CAMERA_FPS (by its true frame times) and every frame carries its
index in the top bar (conftest.stamp), so the benchmark's probe can time each frame's round trip.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from conftest import CHROMIUM, CHROMIUM_FLAGS, clip, letterboxed, stamp
from test_browser import idle, review_mode, start

IFRAME = 'iframe[title="streamlit_webrtc.component.webrtc_streamer"]'
KNEE = "Keep your knee straight"
# 15 frames/s, a common webcam rate: the five Chromiums are the patients' devices, which in use are not on the
# server's 2 cores; at 24 frames/s they took 1.34 of them and left the server too little to measure it.
CAMERA_FPS = 15
START_GAP_S = 6  # the live sessions are started this far apart (or as soon as the previous one streams)
CONNECT_S = 180  # a hang guard: every live session's video comes back within this long of the last START

LIVE = [  # name, clip, exercise to pick (None = the default, the straight-leg raise), kind, knee cue expected
    ("tree", "treepose_sheknows.mp4", "Single-leg balance", "hold", None),  # set up first: it needs a pick
    ("dk1", "legraise_supine_dk1.mp4", None, "reps", False),
    ("dk2", "legraise_supine_dk2.mp4", None, "reps", True),
    ("dk4", "legraise_supine_dk4.mp4", None, "reps", False),
]
UPLOADS = [("legraise_supine_dk2.mp4", True), ("legraise_supine_dk1.mp4", False)]  # clip, knee fault expected
REPS_PER_LOOP = 4  # 3 labelled reps; the jump back to the start of a loop may end a 4th (dk1 ends mid-rep)

# In the main page: everything the status fragment ever showed (it refreshes every second). The counter counts
# each set's reps ("3 / 10") up to the set's target, then starts again from 0 with the next set: `reps` adds up
# the sets' counts, and a count going down is `repsDown` (another page's count) unless it follows a full set (the
# next set may show its first rep before the 1-s refresh shows its 0). (The set's own
# number, "Set 2 of 3", is a separate element that may update just before or after the counter: not used.)
WATCH_JS = """() => {
  if (window.__seen) return;
  const s = window.__seen = {cues: new Set(), labels: new Set(), reps: 0, repsDown: 0, bestHold: 0,
                             holdShown: false, exceptions: 0, fps: null, setsDone: 0, current: 0};
  const scan = () => {
    document.querySelectorAll('h3').forEach(h => s.cues.add(h.innerText.trim()));
    document.querySelectorAll('[data-testid="stMetric"]').forEach(m => {
      const l = m.querySelector('[data-testid="stMetricLabel"]'), v = m.querySelector('[data-testid="stMetricValue"]');
      if (!l || !v) return;
      const label = l.innerText.trim(), value = v.innerText.trim();
      s.labels.add(label);
      if (label === 'Reps' && /^\\d/.test(value)) { const r = parseInt(value);
        const target = parseInt(value.split('/')[1]) || Infinity;  // "7 / 10"
        if (r < s.current) {
          // the next set: after a full set, whatever the next reading (a rep can end in the first second of the
          // next set, between two refreshes, and then its 0 is never shown)
          if (s.current >= target) { s.setsDone += s.current; s.current = 0; }
          else s.repsDown++;
        }
        s.current = Math.max(s.current, r);
        s.reps = s.setsDone + s.current; }
      if (label === 'Best hold') s.bestHold = Math.max(s.bestHold, parseFloat(value) || 0);
      if (label === 'Hold' && /^\\d/.test(value)) s.holdShown = true;
      if (label === 'Frames/s') s.fps = parseFloat(value);
    });
    if (document.querySelector('[data-testid="stException"]')) s.exceptions++;
  };
  new MutationObserver(scan).observe(document.body, {subtree: true, childList: true, characterData: true});
  scan();
}"""
SEEN_JS = """() => { const s = window.__seen; return {cues: [...s.cues], labels: [...s.labels], reps: s.reps,
  repsDown: s.repsDown, bestHold: s.bestHold, holdShown: s.holdShown, exceptions: s.exceptions, fps: s.fps}; }"""

PLAYING_JS = "() => { const v = document.querySelector('video'); return v && v.readyState >= 2 && v.currentTime > 0; }"
# In the component's iframe: the frames of the video coming back shown so far (they stop if its coach stalls).
FRAMES_BACK_JS = """() => { const v = document.querySelector('video');
  return v ? v.getVideoPlaybackQuality().totalVideoFrames : 0; }"""
STATE_JS = """() => { const v = document.querySelector('video');
  return {video: !!v, readyState: v && v.readyState, currentTime: v && v.currentTime,
          buttons: [...document.querySelectorAll('button')].map(b => b.innerText)}; }"""
# Where the delay is, from the browser's side: every RTCPeerConnection the component makes is kept (an init
# script, before the page's own), and its WebRTC statistics read at the start and the end of the run.
KEEP_PCS_JS = """(() => { const Native = window.RTCPeerConnection; if (!Native) return; window.__pcs = [];
  window.RTCPeerConnection = function (...args) { const pc = new Native(...args); window.__pcs.push(pc); return pc; };
  window.RTCPeerConnection.prototype = Native.prototype; })();"""


def stamped_camera(src: Path, out: Path, fps: float = CAMERA_FPS) -> tuple[Path, int, float]:
    """The clip as a 640×480, `fps` .y4m fake camera (letterboxed; frames repeated or skipped by their
    true times, so a 10 frames/s clip plays at its real speed), each frame stamped with its index in the top
    bar. Returns (path, frames, seconds per loop). Made in tmp, never committed."""
    import av

    from formcheck.video import read_frames

    frames = list(read_frames(src))
    step = (frames[-1].t_s - frames[0].t_s) / max(len(frames) - 1, 1)
    count = int(round((frames[-1].t_s - frames[0].t_s + step) * fps))
    with av.open(str(out), "w", format="yuv4mpegpipe") as container:
        stream = container.add_stream("rawvideo", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        j, picture = 0, None
        for index in range(count):
            t = frames[0].t_s + index / fps
            while j + 1 < len(frames) and frames[j + 1].t_s <= t + 1e-6:
                j += 1
                picture = None
            if picture is None:
                picture = letterboxed(frames[j].rgb, src.name)
            canvas = picture.copy()
            stamp(canvas, index)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(canvas, format="rgb24")))
        container.mux(stream.encode())
    return out, count, count / fps


def cameras(folder: Path, fps: float = CAMERA_FPS) -> dict[str, tuple[Path, int, float]]:
    """Every live page's stamped camera at `fps`, made in `folder`."""
    return {name: stamped_camera(clip(src), folder / f"{name}.y4m", fps) for name, src, *_ in LIVE}


def new_page(browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(90_000)  # the machine is loaded on purpose: slow, not stuck
    page.set_default_navigation_timeout(90_000)
    page.add_init_script(KEEP_PCS_JS)
    return page


def choose(page, exercise: str, shows: str) -> None:
    """Pick the exercise in the page's selectbox before START, until the page `shows` its status (a click can
    be lost while the page reruns)."""
    for _ in range(4):
        try:
            page.locator('[data-testid="stSelectbox"]').filter(has_text="Exercise").click(timeout=30_000)
            page.get_by_role("option", name=exercise).click(timeout=15_000)  # the list can close in a rerun
            idle(page)
            page.locator('[data-testid="stMetricLabel"]').filter(has_text=shows).first.wait_for(timeout=30_000)
            return
        except Exception:
            page.keyboard.press("Escape")
    raise AssertionError(f"could not pick {exercise}: the page did not show '{shows}'")


def step(page, what: str, action, shots: Path):
    """Run one setup action; if it fails, say which and keep a screenshot (the app is slow, not the test)."""
    try:
        return action()
    except Exception as exc:
        shot = shots / f"{what.replace(' ', '_')}.png"
        page.screenshot(path=str(shot))
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AssertionError(f"{what}: {first} (screenshot {shot})") from None


def open_pages(p, url: str, cams: dict, shots: Path) -> tuple[list, list[dict], list[dict]]:
    """The two upload pages (one Chromium) and the four live pages (a Chromium each, its clip as the camera),
    each ready to START or to take its file. Returns (browsers, uploads, live)."""
    browsers = []
    # the upload pages first: once on the review page they no longer refresh a live status
    uploader = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
    browsers.append(uploader)
    uploads = []
    for i, (src, knee) in enumerate(UPLOADS):
        page = new_page(uploader)

        def review(page=page):
            start(page, url)
            review_mode(page)
        step(page, f"upload page {i + 1} set-up", review, shots)
        uploads.append(dict(clip=src, page=page, knee=knee, done=None))
    live = []
    for name, src, exercise, kind, knee in LIVE:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS + [
            f"--use-file-for-fake-video-capture={cams[name][0]}"])
        browsers.append(browser)
        page = new_page(browser)

        def ready(page=page, exercise=exercise):
            start(page, url)
            if exercise:
                choose(page, exercise, "Hold")  # the hold timer (before START: no best hold yet)
            page.wait_for_selector(IFRAME)
        step(page, f"{name} page set-up with {len(live)} live pages open", ready, shots)
        page.evaluate(WATCH_JS)
        live.append(dict(name=name, clip=src, page=page, kind=kind, knee=knee, frames=cams[name][1],
                         loop_s=cams[name][2]))
    return browsers, uploads, live


def start_live(live: list[dict], on_connect=None) -> None:
    """START every live page a few seconds apart (each connects while the ones before it already stream), then
    wait until each one's video comes back; `on_connect(s)` runs for each as it does."""
    for s in live:
        s["page"].frame_locator(IFRAME).get_by_role("button", name="START").click()
        s["started"] = time.monotonic()
        s["frame"] = s["page"].locator(IFRAME).element_handle().content_frame()
        s["connected"] = None
        while time.monotonic() - s["started"] < START_GAP_S and not s["frame"].evaluate(PLAYING_JS):
            time.sleep(0.25)
    while time.monotonic() - live[-1]["started"] < CONNECT_S:
        for s in live:
            if s["connected"] is None and s["frame"].evaluate(PLAYING_JS):
                s["connected"] = time.monotonic() - s["started"]
                print(f"{s['name']} video back {s['connected']:.1f} s after its START", flush=True)
                if on_connect:
                    on_connect(s)
        if all(s["connected"] is not None for s in live):
            return
        time.sleep(0.25)


def send_uploads(uploads: list[dict]) -> None:
    """Both uploads at once."""
    for u in uploads:
        u["page"].locator('input[type="file"]').set_input_files(str(clip(u["clip"])))
        u["sent"] = time.monotonic()


def upload_shown(u: dict) -> bool:
    """Whether the upload's review is on its page (noted in u["done"], seconds after it was sent)."""
    if u["done"] is None and u["page"].locator('[data-testid="stVideo"]').count():
        u["done"] = time.monotonic() - u["sent"]
    return u["done"] is not None


def read_upload(u: dict) -> None:
    """The review's figures, once shown: reps, whether the knee cue is shown, exceptions."""
    idle(u["page"])  # the table, the plot and the fault list come after the video
    value = u["page"].locator('[data-testid="stMetric"]').filter(has_text="Reps").locator(
        '[data-testid="stMetricValue"]').inner_text()
    u["reps"] = int(value)
    u["knee_shown"] = u["page"].get_by_text(KNEE).count() > 0
    u["exception"] = u["page"].locator('[data-testid="stException"]').count()


def most_reps(s: dict) -> int:
    """The most reps a live page's own clip can give in the time since its START: more means another's frames."""
    return REPS_PER_LOOP * math.ceil((time.monotonic() - s["started"]) / s["loop_s"]) + 1
