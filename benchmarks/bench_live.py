"""Live coaching speed in a real browser: processed frames per second and round-trip latency, with the
pose pipeline in the WebRTC callback against the same page with a trivial callback, in one run.

A real clip, letterboxed to 640×480, is Chromium's fake camera; each frame carries its index as 16
black/white blocks in the top bar. In the page, the camera (a second getUserMedia on the same fake
device) and the video coming back from the server are both read frame by frame
(requestVideoFrameCallback); latency = when a frame index comes back − when the camera produced it.
A frame counts as processed once, when its index first comes back (the clip is repeated inside the
camera file so that indices never wrap during a run). Runs alternate trivial / pose; medians are compared.

    python benchmarks/bench_live.py [--clip PATH] [--seconds 20] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import av
import numpy as np

from formcheck.video import read_frames

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from conftest import CHROMIUM, CHROMIUM_FLAGS, STAMP_BITS, STAMP_BLOCK, STAMP_JS, letterboxed, stamp  # noqa: E402
from test_browser import start_server  # noqa: E402

# Runs inside the component's iframe: counts frames coming back and measures each one's round trip.
PROBE_JS = "async ([bits, block, seconds]) => {" + STAMP_JS + """
  const seen = new Map(); const back = new Set(); const lat = []; const t0 = performance.now();
  const onCam = () => { const i = read(cam); if (!seen.has(i)) seen.set(i, performance.now());
    cam.requestVideoFrameCallback(onCam); };
  // a frame counts once, when its index first comes back (a repeated frame is not a processed one)
  const onOut = () => { const t = performance.now(); const idx = read(out);
    if (!back.has(idx)) { back.add(idx); if (seen.has(idx)) lat.push(t - seen.get(idx)); }
    out.requestVideoFrameCallback(onOut); };
  cam.requestVideoFrameCallback(onCam); out.requestVideoFrameCallback(onOut);
  await new Promise(r => setTimeout(r, seconds * 1000));
  return {frames: back.size, seconds: (performance.now() - t0) / 1000, latencies: lat};
}"""


def stamped_y4m(src: Path, out: Path, min_seconds: float) -> Path:
    """The clip, repeated until it lasts `min_seconds`, each frame stamped with its running index."""
    frames = list(read_frames(src))
    repeats = int(np.ceil(min_seconds / max(frames[-1].t_s, 1.0)))
    index = 0
    with av.open(str(out), "w", format="yuv4mpegpipe") as container:
        stream = container.add_stream("rawvideo", rate=24)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        for frame in frames * repeats:
            canvas = letterboxed(frame.rgb, src.name)
            stamp(canvas, index)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(canvas, format="rgb24")))
            index += 1
        container.mux(stream.encode())
    return out


def run_once(mode: str, camera: Path, seconds: float) -> dict:
    from playwright.sync_api import sync_playwright

    url, proc = start_server(camera.parent, {"FORMCHECK_BENCH_CALLBACK": mode}, script=HERE / "live_page.py")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=CHROMIUM_FLAGS + [f"--use-file-for-fake-video-capture={camera}"])
            page = browser.new_page()
            page.goto(url)
            page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=60_000)
            page.frame_locator("iframe").get_by_role("button", name="START").click()
            frame = next(f for f in page.frames if "webrtc" in (f.name + f.url) or f != page.main_frame)
            frame.wait_for_function("() => { const v = document.querySelector('video'); "
                                    "return v && v.readyState >= 2 && v.currentTime > 0; }", timeout=60_000)
            page.wait_for_timeout(4000)  # warm-up: the model loads, the connection settles
            result = frame.evaluate(PROBE_JS, [STAMP_BITS, STAMP_BLOCK, seconds])
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    lat = result["latencies"]
    return {"fps": result["frames"] / result["seconds"], "latency_ms": statistics.median(lat) if lat else float("nan"),
            "matched": len(lat)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "videos" / "legraise_supine_dk1.mp4")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        camera = stamped_y4m(args.clip, Path(tmp) / "camera.y4m", args.seconds + 15)
        runs = {"trivial": [], "pose": []}
        for i in range(args.repeat):
            for mode in ("trivial", "pose"):
                r = run_once(mode, camera, args.seconds)
                runs[mode].append(r)
                print(f"run {i + 1} {mode:8s} {r['fps']:5.1f} frames/s back, median round trip "
                      f"{r['latency_ms']:6.1f} ms"
                      f" ({r['matched']} frames matched)", flush=True)
    med = {m: {k: statistics.median(r[k] for r in rs) for k in ("fps", "latency_ms")} for m, rs in runs.items()}
    ratio = med["pose"]["latency_ms"] / med["trivial"]["latency_ms"]
    print(f"\nclip {args.clip.name} letterboxed to 640x480 as the fake camera; {args.seconds:.0f} s measured per run; "
          f"{os.cpu_count()} cpus")
    print(f"{'':10s}{'frames/s':>10s}{'round trip ms':>16s}")
    for mode in ("trivial", "pose"):
        print(f"{mode:10s}{med[mode]['fps']:10.1f}{med[mode]['latency_ms']:16.1f}")
    print(f"latency ratio pose/trivial {ratio:.2f} (target <= 1.3); pose frames/s {med['pose']['fps']:.1f} "
          f"(target >= 20)")
    print(f"RESULT pose_fps={med['pose']['fps']:.1f} trivial_fps={med['trivial']['fps']:.1f} "
          f"pose_latency_ms={med['pose']['latency_ms']:.1f} trivial_latency_ms={med['trivial']['latency_ms']:.1f} "
          f"latency_ratio={ratio:.2f}")


if __name__ == "__main__":
    main()
