"""Several patients at once on one server, measured: four live pages and two uploads (tests/several_patients.py)
for at least MIN_RUN_S, with every processed frame's round trip timed in each live page (camera → server →
back), the server's memory and the CPU of each role. Prints the figures of the README's "Several patients at
once" and the bounds they were once held to (round trip, memory), as measurements, not a pass/fail: the
functional test (tests/test_several_patients.py) checks that everything works whatever the machine's speed.

In each live page a probe reads, with requestVideoFrameCallback, the stamps of its own capture of the camera
(by capture time) and of the video coming back; shot_times matches them.

    .venv/bin/python benchmarks/bench_several_patients.py
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from conftest import STAMP_JS, STAMP_BITS, STAMP_BLOCK, VIDEOS, descendants, stat_fields  # noqa: E402
from several_patients import (CAMERA_FPS, CONNECT_S, KNEE, REPS_PER_LOOP, SEEN_JS, STATE_JS, cameras, open_pages,  # noqa: E402
                              read_upload, send_uploads, start_live, upload_shown)
from test_browser import start_server  # noqa: E402

MIN_RUN_S = 80  # all four live sessions and the uploads measured together for at least this long ...
MAX_RUN_S = 420  # ... and until both uploads show their results, at most this long (they get ~0.2 of the cores)
WARMUP_S = 8  # latency windows start this long after the uploads were sent
WINDOW_S = 20  # early window = [WARMUP_S, WARMUP_S + WINDOW_S), late window = the last WINDOW_S of the run
# Bounds: generous for a loaded 2-core machine (other jobs may share it), tight enough for unbounded growth.
LATENCY_GROWTH_X, LATENCY_MARGIN_MS = 2.0, 750.0  # late median <= 2 × early median + 750 ms
# No 10-s window's median above this; below the shortest camera loop (7.2 s), so a frame's index is never
# matched to the wrong pass. The worst windows come as the first upload's review is shown (~4.1–4.5 s on the
# CI machine, ~1.7 s on a quiet one).
LATENCY_CAP_MS = 5000.0
# Processed frames keep coming back to every page, late in the run too (timed or not): a session that stalls
# gives none. A stall, not a speed (bench_live measures speed): other jobs on the machine cut the rate a lot.
MIN_FPS_BACK = 0.5
CAM_GAP_S = 2.0  # a frame is timed only where the probe read the camera at least this often around its pass
MIN_TIMED = 10  # the early window's median rests on at least this many timed frames
RSS_CAP_MB = 4000.0  # the whole server: 4 live sessions, 2 uploads (4 upload landmarkers), Streamlit
RSS_LATE_GROWTH_MB = 250.0  # over the second half of the run

# In the WebRTC component's iframe: a second capture of the same fake camera and the video coming back, each
# frame's index read from its stamp whenever it changes. `cams`: [capture time ms, index] (the camera's own
# capture time, so a probe starved of CPU still dates what it saw); `outs`: [ms shown, index]; both from t0.
# They are matched afterwards (shot_times). `stopped`: when the component lost its video or showed START
# again (the browser ended the session).
PROBE_JS = "async ([bits, block]) => { if (window.__probe) return;" + STAMP_JS + """
  const p = window.__probe = {t0: performance.now(), cams: [], outs: [], lastCam: -1, lastOut: -1, stopped: null};
  const onCam = (now, meta) => { const i = read(cam);
    if (i !== p.lastCam) { p.cams.push([(meta.captureTime || performance.now()) - p.t0, i]); p.lastCam = i; }
    cam.requestVideoFrameCallback(onCam); };
  const onOut = () => { const t = performance.now(); const i = read(out);
    if (i !== p.lastOut) { p.outs.push([t - p.t0, i]); p.lastOut = i; }
    out.requestVideoFrameCallback(onOut); };
  cam.requestVideoFrameCallback(onCam); out.requestVideoFrameCallback(onOut);
  setInterval(() => {
    const v = document.querySelector('video');
    const again = [...document.querySelectorAll('button')].some(b => b.innerText.trim() === 'START');
    if (p.stopped === null && (again || v !== out || !out.srcObject)) p.stopped = performance.now() - p.t0;
  }, 250);
}"""
READ_PROBE_JS = "() => { const p = window.__probe; return {cams: p.cams.splice(0), outs: p.outs.splice(0)}; }"

RTC_STATS_JS = """async () => { const out = {};
  for (const pc of window.__pcs || []) (await pc.getStats()).forEach(s => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') out.back = {decoded: s.framesDecoded, dropped: s.framesDropped,
      jitterDelay: s.jitterBufferDelay, emitted: s.jitterBufferEmittedCount, lost: s.packetsLost, width: s.frameWidth};
    if (s.type === 'outbound-rtp' && s.kind === 'video') out.camera = {sent: s.framesSent, bytes: s.bytesSent,
      width: s.frameWidth, limit: s.qualityLimitationReason, keyFrames: s.keyFramesEncoded, pli: s.pliCount,
      nack: s.nackCount, sendDelay: s.totalPacketSendDelay, packets: s.packetsSent};
    if (s.type === 'candidate-pair' && s.nominated) out.pair = {rtt: s.currentRoundTripTime,
      bitrate: s.availableOutgoingBitrate};
  }); return out; }"""


def rtc_delta(a: dict, b: dict, seconds: float) -> str:
    """The browser's WebRTC statistics between two readings, as one line."""
    try:
        cam0, cam1, back0, back1 = a["camera"], b["camera"], a["back"], b["back"]
        jitter = (back1["jitterDelay"] - back0["jitterDelay"]) / max(back1["emitted"] - back0["emitted"], 1)
        send = (cam1["sendDelay"] - cam0["sendDelay"]) / max(cam1["packets"] - cam0["packets"], 1)
        return (f"camera {(cam1['sent'] - cam0['sent']) / seconds:.1f} frames/s at "
                f"{8 * (cam1['bytes'] - cam0['bytes']) / seconds / 1000:.0f} kbps, {cam1['width']} wide, limited by "
                f"{cam1['limit']}, {cam1['keyFrames'] - cam0['keyFrames']} key frames, {cam1['pli'] - cam0['pli']} "
                f"asked, send delay {1000 * send:.0f} ms; video back "
                f"{(back1['decoded'] - back0['decoded']) / seconds:.1f} "
                f"frames/s, jitter buffer {1000 * jitter:.0f} ms, {back1['lost'] - back0['lost']} lost; round trip "
                f"{1000 * (b.get('pair', {}).get('rtt') or 0):.0f} ms, estimate "
                f"{(b.get('pair', {}).get('bitrate') or 0) / 1000:.0f} kbps")
    except (KeyError, TypeError):
        return f"no statistics ({a}, {b})"


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    return [pid, *descendants(pid)]


def server_rss_mb(pid: int) -> float:
    """Resident memory of the server process and all its descendants (VmRSS), in MB."""
    total = 0.0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


ROLES = ("server", "coaches", "uploads", "browsers")


class CpuLedger:
    """CPU seconds (user + system) used so far, by role: the server's own process, its coaches' processes
    (formcheck.coach_process), its uploads' (formcheck.child), and the browsers (the rest of this test's
    process tree: Chromium and the Playwright driver). A process that has ended keeps its last reading
    (read every second), so an upload's child still counts once it is gone."""

    def __init__(self, server_pid: int):
        self.server_pid = server_pid
        self.seen: dict[int, tuple[str, float]] = {}  # pid -> (role, CPU seconds at its last reading)

    def _role(self, pid: int, server: set[int]) -> str:
        if pid in self.seen:
            return self.seen[pid][0]
        if pid == self.server_pid:
            return "server"
        if pid not in server:
            return "browsers"
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
        return "coaches" if b"formcheck.coach_process" in command else \
            "uploads" if b"formcheck.child" in command else "server"

    def read(self) -> dict[str, float]:
        server = set(process_tree(self.server_pid))
        for pid in (server | set(process_tree(os.getpid()))) - {os.getpid()}:
            try:
                role, fields = self._role(pid, server), stat_fields(f"/proc/{pid}/stat")
                self.seen[pid] = role, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, IndexError, ValueError):
                pass  # gone between the listing and the reading: its last reading stands
        totals = dict.fromkeys(ROLES, 0.0)
        for role, seconds in self.seen.values():
            totals[role] += seconds
        return totals


def cores(a: dict[str, float], b: dict[str, float], seconds: float) -> str:
    """Cores each role used between two CpuLedger readings, as server/coaches/uploads/browsers."""
    return "/".join(f"{(b[r] - a[r]) / seconds:.2f}" for r in ROLES)


def windows(samples: list, width: float, start: float, end: float) -> list[tuple[float, int, float]]:
    """(window start s, frames back, median round trip ms) per `width`-second window from `start` to `end`."""
    out, t0 = [], start
    while t0 < end:
        lat = [ms for t, ms in samples if t0 <= t < t0 + width]
        out.append((t0, len(lat), statistics.median(lat) if lat else math.nan))
        t0 += width
    return out


def shot_times(cams: list, outs: list, frames: int) -> list[float | None]:
    """When the camera shot each frame that came back: the latest time it passed the frame's index before the
    frame was shown, or None (untimed).

    `cams` (s, index): the probe's readings of the camera, by capture time; `outs` (s, index): frames back, by
    the time shown; the camera loops over `frames` indices. The camera's position is unwrapped across loops
    (a fall in the index is the jump back to the start) and interpolated between readings, so a probe that
    read only some camera frames still dates every frame back, and a frame is never matched to an earlier loop
    because its own pass went unread. A frame is untimed where the readings around its pass, or between its
    pass and its return, are more than CAM_GAP_S apart."""
    import numpy as np

    cams = sorted(cams)
    if len(cams) < 2:
        return [None] * len(outs)
    t = np.array([c[0] for c in cams], float)
    index = np.array([c[1] for c in cams], float)
    position = index + frames * np.concatenate([[0], np.cumsum(np.diff(index) < 0)])
    gaps = np.diff(t)
    shots = []
    for shown, i in outs:
        at = np.interp(shown, t, position)  # where the camera was when this frame came back
        passed = i + frames * math.floor((at - i) / frames)
        shot = float(np.interp(passed, position, t))
        first, last = np.searchsorted(t, shot, "right") - 1, np.searchsorted(t, shown, "left")
        ok = 0 <= i < frames and first >= 0 and last < len(t) and gaps[first:last].max(initial=0) <= CAM_GAP_S
        shots.append(shot if ok else None)
    return shots


def stance_interval(name: str) -> tuple[float, float]:
    """The clip's labelled stance (labels-dev.json), in clip seconds: the free foot is down outside it."""
    (start, end), = json.loads((VIDEOS / "labels-dev.json").read_text())[name]["single_leg_intervals_s"]
    return start, end


def longest_unbroken_stance(outs: list, shots: list, stance: tuple[float, float]) -> float:
    """The longest time between two frames back that show the free foot down (their clip time outside the
    labelled `stance`), by the camera's time: each touch-down the coach was shown must end the hold, so no
    hold can be longer. At a few coached frames a second a touch-down can fall between two frames; then two
    stances are one for the coach as for anyone watching only those frames."""
    timed = [(shot, i) for (_, i), shot in zip(outs, shots) if shot is not None]
    if not timed:
        return math.nan
    down = [shot for shot, i in timed if not stance[0] <= i / CAMERA_FPS <= stance[1]]
    edges = [timed[0][0], *down, timed[-1][0]]  # a hold may run from before the first frame or past the last
    return max(b - a for a, b in zip(edges, edges[1:]))


def read_probe(s: dict) -> None:
    """Move a live page's new probe readings into `s`, in seconds from the start of the run."""
    read = s["frame"].evaluate(READ_PROBE_JS)
    for kind in ("cams", "outs"):
        s[kind] += [((t - s["offset"]) / 1000, i) for t, i in read[kind]]


def measure(url: str, proc, log: Path, cams: dict, tmp: Path) -> list[str]:
    """Run the scenario on the server at `url`, print its figures; returns the bounds it did not keep."""
    from playwright.sync_api import sync_playwright

    rss: list[tuple[float, float]] = []
    t_setup = time.monotonic()
    with sync_playwright() as p:
        browsers = []
        try:
            browsers, uploads, live = open_pages(p, url, cams, tmp)
            for s in live:
                s.update(cams=[], outs=[])
            print(f"\nsix pages set up in {time.monotonic() - t_setup:.0f} s; "
                  f"server RSS {server_rss_mb(proc.pid):.0f} MB")
            start_live(live, lambda s: s["frame"].evaluate(PROBE_JS, [STAMP_BITS, STAMP_BLOCK]))
            for s in live:
                if s["connected"] is None:
                    s["page"].screenshot(path=str(tmp / f"{s['name']}-no-video.png"))
                    print(f"{s['name']}: NO VIDEO BACK {time.monotonic() - s['started']:.0f} s after its START "
                          f"({s['frame'].evaluate(STATE_JS)}; screenshot {tmp / (s['name'] + '-no-video.png')})")
            send_uploads(uploads)

            t_live = time.monotonic()  # from here all four live sessions and both uploads run at once
            ledger, load_start = CpuLedger(proc.pid), os.getloadavg()[0]
            cpu = [(0.0, ledger.read())]  # (s from t_live, CPU seconds by role)
            streaming = [s for s in live if s["connected"] is not None]
            for s in streaming:
                s["rtc"] = [s["frame"].evaluate(RTC_STATS_JS)]
            for s in streaming:  # the probe's clock at t_live: readings are kept in seconds from t_live
                s["offset"] = s["frame"].evaluate("() => performance.now() - window.__probe.t0") - \
                    1000 * (time.monotonic() - t_live)
            while True:
                now = time.monotonic()
                for s in streaming:
                    read_probe(s)
                rss.append((now - t_live, server_rss_mb(proc.pid)))
                cpu.append((now - t_live, ledger.read()))
                for u in uploads:
                    upload_shown(u)
                assert proc.poll() is None, "the server died"
                if (now - t_live >= MIN_RUN_S and all(u["done"] is not None for u in uploads)) \
                        or now - t_live >= MAX_RUN_S:
                    break
                time.sleep(1.0)
            run_s = time.monotonic() - t_live
            cpu.append((run_s, ledger.read()))
            load_end = os.getloadavg()[0]

            for s in live:
                s["elapsed"] = time.monotonic() - s["started"]  # the camera started with START
                s["seen"] = s["page"].evaluate(SEEN_JS)
                if "rtc" in s:
                    s["rtc"].append(s["frame"].evaluate(RTC_STATS_JS))
                if s["connected"] is None:
                    s["stopped"] = None
                    continue
                read_probe(s)
                stopped = s["frame"].evaluate("() => window.__probe.stopped")
                s["stopped"] = None if stopped is None else (stopped - s["offset"]) / 1000
            for u in uploads:
                if u["done"] is not None:
                    read_upload(u)
        finally:
            for browser in browsers:
                browser.close()
    server_log = log.read_text(errors="replace")

    # --- the numbers (pytest -s) --------------------------------------------------------------------
    print(f"run {run_s:.0f} s with all four live sessions; uploads shown after "
          + ", ".join(f"{u['clip']} {u['done']:.0f} s" if u["done"] is not None else f"{u['clip']} NOT DONE"
                      for u in uploads))
    for s in live:  # sample times in seconds from t_live; samples before it (staggered starts) are left out
        s["shots"] = shot_times(s["cams"], s["outs"], s["frames"])
        s["samples"] = [(shown, 1000 * (shown - shot)) for (shown, _), shot in zip(s["outs"], s["shots"])
                        if shot is not None]
        s["untimed"] = s["shots"].count(None)
        if s["kind"] == "hold":
            s["unbroken"] = longest_unbroken_stance(s["outs"], s["shots"], stance_interval(s["clip"]))
        samples = s["samples"]
        run_cams = sorted(t for t, _ in s["cams"] if 0 <= t <= run_s)
        s["cam_gap"] = max((b - a for a, b in zip(run_cams, run_cams[1:])), default=math.nan)
        s["early"] = [ms for t, ms in samples if WARMUP_S <= t < WARMUP_S + WINDOW_S]
        s["late"] = [ms for t, ms in samples if t >= run_s - WINDOW_S]
        s["windows"] = windows(samples, 10.0, WARMUP_S, run_s)
        s["fps_late"] = len([1 for shown, _ in s["outs"] if run_s - WINDOW_S <= shown <= run_s]) / WINDOW_S
        s["fps_all"] = len([1 for t, _ in samples if t >= WARMUP_S]) / (run_s - WARMUP_S)
        seen = s["seen"]
        early = statistics.median(s["early"]) if s["early"] else math.nan
        late = statistics.median(s["late"]) if s["late"] else math.nan
        stopped = "NEVER CONNECTED" if s["connected"] is None else "kept running" if s["stopped"] is None \
            else f"STOPPED {s['stopped']:.0f} s into the run"
        print(f"{s['name']:5s} {s['elapsed']:4.0f} s since START, loop {s['loop_s']:4.1f} s: {seen['reps']:2d} reps, "
              f"best hold {seen['bestHold']:.0f} s, knee cue {KNEE in seen['cues']}, metrics {sorted(seen['labels'])}; "
              f"{stopped}")
        print(f"      frames back {s['fps_all']:4.1f}/s overall, {s['fps_late']:4.1f}/s late (camera {CAMERA_FPS}/s, "
              f"page Frames/s {seen['fps']}); round trip median early {early:.0f} ms, late {late:.0f} ms; "
              f"untimed {s['untimed']} of {len(s['outs'])}")
        print(f"      probe read the camera {len(run_cams) / run_s:.1f} times/s, longest gap {s['cam_gap']:.2f} s"
              + (f"; longest time between two touch-downs shown {s['unbroken']:.1f} s" if "unbroken" in s else ""))
        print("      per 10 s from the uploads (frames back/median round trip ms): " + " ".join(
            f"{n}/{ms:.0f}" for _, n, ms in s["windows"]))
        if len(s.get("rtc", [])) == 2:
            print("      browser: " + rtc_delta(*s["rtc"], run_s))
    for u in uploads:
        if u["done"] is not None:
            print(f"upload {u['clip']}: {u['reps']} reps, knee cue shown {u['knee_shown']}")
    mid = statistics.median(mb for t, mb in rss if run_s * 0.4 <= t < run_s * 0.6)
    end = statistics.median(mb for t, mb in rss if t >= run_s * 0.9)
    peak = max(mb for _, mb in rss)
    print(f"server RSS: {rss[0][1]:.0f} MB when the uploads were sent, {mid:.0f} MB mid-run, {end:.0f} MB at the end, "
          f"peak {peak:.0f} MB; second half {end - mid:+.0f} MB")
    print("server RSS every 10 s (MB): " + " ".join(f"{mb:.0f}" for t, mb in rss[::10]))
    total_back = sum(s["fps_all"] for s in live)
    print(f"CPU over the run ({os.cpu_count()} cpus), cores for server/coaches/uploads/browsers: "
          f"{cores(cpu[0][1], cpu[-1][1], run_s)}; load average {load_start:.1f} → {load_end:.1f}")
    tens = []  # the first reading at or after each 10-s mark (readings come every 1-2 s)
    for t, reading in cpu:
        if t >= 10 * len(tens):
            tens.append((t, reading))
    print("CPU per 10 s (server/coaches/uploads/browsers): " + " ".join(
        cores(a, b, tb - ta) for (ta, a), (tb, b) in zip(tens, tens[1:])))
    print(f"processed frames back, all four pages: {total_back:.1f}/s of {len(live) * CAMERA_FPS}/s sent "
          f"({100 * (1 - total_back / (len(live) * CAMERA_FPS)):.0f}% dropped)")

    problems: list[str] = []

    def check(ok: bool, problem: str) -> None:
        if not ok:
            problems.append(problem)

    # the server stayed healthy
    check("Error occurred in the WebRTC thread" not in server_log, "a WebRTC worker thread failed (server log)")
    check("taking too long" not in server_log, "a frame callback took over 10 s (server log)")
    for s in live:
        check(s["seen"]["exceptions"] == 0, f"{s['name']}: an exception was shown on the page")
    # uploads: each its own result
    for u in uploads:
        if u["done"] is None:
            problems.append(f"upload {u['clip']}: no result within {MAX_RUN_S} s")
            continue
        check(u["exception"] == 0, f"upload {u['clip']}: an exception was shown")
        check(u["reps"] == 3, f"upload {u['clip']}: {u['reps']} reps, labelled 3")
        check(u["knee_shown"] == u["knee"], f"upload {u['clip']}: knee fault shown {u['knee_shown']}, "
                                            f"expected {u['knee']}")
    # live: sessions keep running, frames dropped rather than queued
    for s in live:
        name = s["name"]
        if s["connected"] is None:
            problems.append(f"{name}: no video came back within {CONNECT_S} s of START")
            continue
        check(s["stopped"] is None, f"{name}: the browser ended the live session "
                                    f"{s['stopped'] or 0:.0f} s into the run "
                                    "(the component went back to START)")
        check(s["fps_late"] >= MIN_FPS_BACK, f"{name}: {s['fps_late']:.1f} processed frames/s came back in the last "
                                             f"{WINDOW_S} s (at least {MIN_FPS_BACK} expected)")
        if s["early"] and s["late"]:
            early, late = statistics.median(s["early"]), statistics.median(s["late"])
            check(late <= LATENCY_GROWTH_X * early + LATENCY_MARGIN_MS,
                  f"{name}: round trip grew from {early:.0f} ms (early) to {late:.0f} ms (late)")
        else:
            problems.append(f"{name}: no round trips measured early or late in the run")
        worst = max((ms for _, n, ms in s["windows"] if n), default=math.nan)
        check(not worst > LATENCY_CAP_MS, f"{name}: a 10-s window's median round trip was {worst:.0f} ms "
                                          f"(cap {LATENCY_CAP_MS:.0f})")
        check(len(s["early"]) >= MIN_TIMED,
              f"{name}: {len(s['early'])} frames back timed early in the run, {MIN_TIMED} needed (untimed "
              f"{s['untimed']} of {len(s['outs'])}: the probe read the camera too seldom, longest gap "
              f"{s['cam_gap']:.1f} s)")
    # live: no cross-talk
    for s in (s for s in live if s["connected"] is not None):
        name, seen = s["name"], s["seen"]
        check(seen["repsDown"] == 0, f"{name}: the rep counter went down")
        if s["kind"] == "reps":
            check("Reps" in seen["labels"] and "Hold" not in seen["labels"], f"{name}: metrics {seen['labels']}")
            most = REPS_PER_LOOP * math.ceil(s["elapsed"] / s["loop_s"]) + 1
            check(3 <= seen["reps"] <= most, f"{name}: {seen['reps']} reps after {s['elapsed']:.0f} s of a "
                                             f"{s['loop_s']:.1f} s loop of 3 reps (3..{most} expected)")
            check((KNEE in seen["cues"]) == s["knee"], f"{name}: knee cue shown {KNEE in seen['cues']}, "
                                                       f"expected {s['knee']}")
        else:
            check({"Hold", "Best hold"} <= set(seen["labels"]) and "Reps" not in seen["labels"],
                  f"{name}: metrics {seen['labels']}")
            check(seen["holdShown"], f"{name}: the hold timer never ran")
            check(seen["bestHold"] >= 2, f"{name}: best hold {seen['bestHold']:.0f} s; each loop holds ~6 s")
            check(seen["bestHold"] <= s["unbroken"] + 1,
                  f"{name}: best hold {seen['bestHold']:.0f} s, beyond the {s['unbroken']:.1f} s between two "
                  "touch-downs the page was shown: a touch-down did not end the hold")
            check(KNEE not in seen["cues"], f"{name}: the leg raise's knee cue on the balance page")
    # memory bounded
    check(peak <= RSS_CAP_MB, f"server RSS peaked at {peak:.0f} MB (cap {RSS_CAP_MB:.0f})")
    check(end - mid <= RSS_LATE_GROWTH_MB, f"server RSS grew {end - mid:.0f} MB over the second half of the run")
    return problems


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="formcheck-bench-") as tmp:
        tmp = Path(tmp)
        cams = cameras(tmp)
        url, proc = start_server(tmp)
        try:
            problems = measure(url, proc, tmp / "streamlit.log", cams, tmp)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print("bounds kept: all" if not problems else "bounds not kept:\n  " + "\n  ".join(problems))


if __name__ == "__main__":
    main()


