"""Upload analysis against the pose model's own limit, in one run: speed, the parallel split, model choice, memory.

Speed is measured here, by ratios taken in one run, not by timed tests (timings on shared CI machines are
noise, and a test cannot say what "fast enough" means; a ratio to the bare model can). Sections:

  speed   on a 101-s 720p real clip (treepose_howcast.mp4, 24 fps), alternating runs (--repeat N, medians):
            bare      read_frames + a plain mediapipe PoseLandmarker calling detect_for_video on every frame in
                      one loop, nothing else: one landmarker over the whole clip
            one pass  analyze_video(workers=1) + report: formcheck's steady rate (ANALYSIS_FPS), decoding
                      ahead in a thread, pose, kinematics, smoothing, checker
            parallel  analyze_video() + report, as `formcheck analyze`: the same, the clip split into one part
                      per core, tracked at once
                      (target >= 2.8x faster than bare on 2 cores), and a check that its reps, holds and
                      faults equal the one pass
          all timings include creating (and closing) the landmarker(s); a bare warm-up run is untimed.
  people  num_poses=2 (formcheck's: a second person is seen) against 1 on the clip's first 600 frames: the
          inference time of each, and how far the main person's landmarks move between the two.
  models  lite / full / heavy: bare frames/s on the same clip, and the dev clips with ground truth
          (../shared/videos/labels-dev.json) analysed with each: how many outcomes match the labels.
  memory  peak RSS of a fresh `formcheck analyze` process on the clip and on the clip repeated (made in a
          temporary folder by copying its packets, never committed): memory per minute of video.

    python benchmarks/bench_pipeline.py [--clip PATH] [--exercise NAME] [--repeat N] [--only speed,people,models,memory]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

import av
import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions, vision

from formcheck import models
from formcheck.analyze import ANALYSIS_FPS, analyze_video, available_cores
from formcheck.pose import native_logs_silenced, pose_from_result
from formcheck.report import build_report, report_json
from formcheck.video import probe, read_frames

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "videos"
DEFAULT_CLIP = VIDEOS / "treepose_howcast.mp4"  # 1280x720, 24 fps, 101 s: a long real upload
DEFAULT_EXERCISE = "single_leg_balance"
TARGET_VS_BARE_X = 2.8


def make_landmarker(model_path: Path, num_poses: int = 2):
    """The same options formcheck.pose.PoseEstimator uses in VIDEO mode (num_poses=2, no masks)."""
    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model_path)), running_mode=vision.RunningMode.VIDEO,
        num_poses=num_poses, output_segmentation_masks=False,
    )
    with native_logs_silenced():
        return vision.PoseLandmarker.create_from_options(options)


def video_ms(frames):
    """(frame, its time in integer ms): VIDEO mode needs strictly increasing ms, frame times are rounded."""
    last_ms = -1
    for frame in frames:
        last_ms = max(int(round(frame.t_s * 1000)), last_ms + 1)
        yield frame, last_ms


def bare(clip: Path, model_path: Path, limit: int | None = None) -> tuple[float, int]:
    """(seconds, frames): decode + detect_for_video in one loop, nothing else."""
    t0 = time.perf_counter()
    landmarker = make_landmarker(model_path)
    n = 0
    try:
        with native_logs_silenced():  # the first inference logs on fd 2
            for frame, ms in video_ms(islice(read_frames(clip), limit)):
                landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=frame.rgb), ms)
                n += 1
    finally:
        landmarker.close()
    return time.perf_counter() - t0, n


def pipeline(clip: Path, exercise: str, variant: str, workers: int):
    """(seconds, analysis): analyze_video at the steady rate + build_report + report_json."""
    t0 = time.perf_counter()
    analysis, info = analyze_video(clip, exercise, variant=variant, workers=workers, fps=ANALYSIS_FPS)
    report_json(build_report(analysis, info, variant))
    return time.perf_counter() - t0, analysis


def outcome(analysis) -> tuple:
    result = analysis.result
    return (len(result.reps), len(result.holds), sorted({f.code for f in result.faults}))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def table(rows: list[tuple], widths: tuple[int, ...]) -> None:
    for row in rows:
        print("".join(f"{str(col):<{w}}" if i == 0 else f"{str(col):>{w}}"
                      for i, (col, w) in enumerate(zip(row, widths))))


# --- speed ----------------------------------------------------------------------------------------------


def speed(clip: Path, exercise: str, repeat: int) -> dict:
    info = probe(clip)
    cores = available_cores()
    path = models.ensure_model("full")
    print(f"\n== speed: {clip.name} {info.width}x{info.height}, {info.frames} frames, {info.duration_s:.2f} s, "
          f"{info.fps:.2f} fps; exercise {exercise}; model full; {cores} cores; repeat {repeat}")
    bare(clip, path, limit=30)  # warm-up: first model load, page cache
    times = {"bare": [], "one pass": [], "parallel": []}
    one = par = None
    for i in range(repeat):
        t, frames = bare(clip, path)
        times["bare"].append(t)
        t, one = pipeline(clip, exercise, "full", workers=1)
        times["one pass"].append(t)
        t, par = pipeline(clip, exercise, "full", workers=cores)
        times["parallel"].append(t)
        print(f"run {i + 1}  " + "  ".join(f"{k} {v[-1]:6.2f} s" for k, v in times.items()))
    med = {k: statistics.median(v) for k, v in times.items()}
    print()
    table([("", "time s", "x real time", "vs bare")]
          + [(k, f"{t:.2f}", f"{info.duration_s / t:.2f}", f"{med['bare'] / t:.2f}x") for k, t in med.items()],
          (12, 10, 13, 10))
    vs_bare = med["bare"] / med["parallel"]
    print(f"\nbare: {frames} frames; analysed at the steady rate: {len(par.poses)} frames ({ANALYSIS_FPS:.0f}/s)")
    print(f"parallel vs bare            {vs_bare:.2f}x  (target >= {TARGET_VS_BARE_X}x: "
          f"{'OK' if vs_bare >= TARGET_VS_BARE_X else 'UNDER TARGET'})")
    print(f"parallel == one pass        (reps, holds, faults) one pass {outcome(one)}, parallel {outcome(par)}"
          f"{'' if outcome(one) == outcome(par) else '  MISMATCH'}")
    return {"bare_s": med["bare"], "one_pass_s": med["one pass"], "parallel_s": med["parallel"],
            "parallel_vs_bare_x": vs_bare, "same_outcome": outcome(one) == outcome(par)}


# --- people ---------------------------------------------------------------------------------------------


def tracked(clip: Path, model_path: Path, num_poses: int, limit: int) -> tuple[float, list]:
    """(seconds in detect_for_video alone, the main person's image x, y per frame or None)."""
    landmarker, spent, found = make_landmarker(model_path, num_poses), 0.0, []
    try:
        with native_logs_silenced():
            for frame, ms in video_ms(islice(read_frames(clip), limit)):
                image = mp.Image(image_format=mp.ImageFormat.SRGB, data=frame.rgb)
                t0 = time.perf_counter()
                result = landmarker.detect_for_video(image, ms)
                spent += time.perf_counter() - t0
                pose = pose_from_result(result, frame.t_s, image.width, image.height)
                found.append(None if pose is None else pose.image[:, :2])
    finally:
        landmarker.close()
    return spent, found


def people(clip: Path, repeat: int, limit: int = 600) -> dict:
    """What tracking one person instead of two (the second is how `two_people` is refused) would save, and how
    far it moves the landmarks: MediaPipe runs its person detector on every frame while fewer people are
    tracked than num_poses."""
    path = models.ensure_model("full")
    print(f"\n== people: {clip.name}, first {limit} frames, inference alone (detect_for_video), repeat {repeat}")
    ms, found = {1: [], 2: []}, {}
    for _ in range(repeat):
        for n in (2, 1):
            spent, found[n] = tracked(clip, path, n, limit)
            ms[n].append(1000 * spent / len(found[n]))
    one, two = found[1], found[2]
    med = {n: statistics.median(v) for n, v in ms.items()}
    both = [np.abs(a - b).max() for a, b in zip(one, two) if a is not None and b is not None]
    differ = sum((a is None) != (b is None) for a, b in zip(one, two))
    print(f"num_poses=2  {med[2]:.1f} ms a frame")
    print(f"num_poses=1  {med[1]:.1f} ms a frame  ({med[2] / med[1]:.2f}x faster)")
    print(f"landmarks moved (largest |dx|, |dy| of a frame, in frame widths/heights): median "
          f"{np.median(both):.3f}, 95th percentile {np.percentile(both, 95):.3f}; person found in one only: "
          f"{differ} of {len(one)} frames")
    return {"ms_two": med[2], "ms_one": med[1], "moved_median": float(np.median(both))}


# --- models ---------------------------------------------------------------------------------------------


def dev_checks() -> list[tuple[str, str, callable]]:
    """(clip, exercise, judge) for the labelled dev clips of high confidence; judge(analysis, label) -> bool."""
    def reps(a, lab):
        return len(a.result.reps) == lab["reps_complete"]

    def faults(*codes):
        return lambda a, lab: reps(a, lab) and set(codes) <= {f.code for f in a.result.faults}

    def clean(code):
        return lambda a, lab: reps(a, lab) and code not in {f.code for f in a.result.faults}

    def hold(a, lab):
        (start, end), = lab["single_leg_intervals_s"]
        return len(a.result.holds) == 1 and abs(a.result.holds[0].start_s - start) <= 0.3 and \
            abs(a.result.holds[0].end_s - end) <= 0.3

    return [("legraise_supine_dk1.mp4", "straight_leg_raise", clean("knee_bent")),
            ("legraise_supine_dk2.mp4", "straight_leg_raise", faults("knee_bent")),
            ("treepose_sheknows.mp4", "single_leg_balance", hold),
            ("lunge_ucf101_g18c05.mp4", "lunge", reps),
            ("squat_side_kan6.mp4", "squat", reps),
            ("rdl_side_rounded_gazi_TL.mp4", "hip_hinge", faults("back_rounded")),
            ("rdl_side_flat_gazi_TR.mp4", "hip_hinge", clean("back_rounded"))]


def model_choice(clip: Path) -> dict:
    labels = json.loads((VIDEOS / "labels-dev.json").read_text())
    checks = dev_checks()
    info = probe(clip)
    print(f"\n== models: bare frames/s on {clip.name} (first 300 frames); dev clips with labels, analysed with "
          f"{available_cores()} workers")
    rows, found = [("model", "bare fps", "x real time", "dev matches", "analysis s")], {}
    for variant in models.VARIANTS:
        try:
            path = models.ensure_model(variant, quiet=True)
        except Exception as exc:  # e.g. no npm to build lite/heavy: say so, go on
            print(f"{variant}: not available ({exc})")
            continue
        bare(clip, path, limit=20)
        t, n = bare(clip, path, limit=300)
        matched, t0, missed = 0, time.perf_counter(), []
        for name, exercise, judge in checks:
            analysis, _ = analyze_video(VIDEOS / name, exercise, variant=variant)
            ok = judge(analysis, labels[name])
            matched += ok
            if not ok:
                missed.append(f"{name} {outcome(analysis)}")
        spent = time.perf_counter() - t0
        fps = n / t
        rows.append((variant, f"{fps:.1f}", f"{fps / info.fps:.2f}", f"{matched}/{len(checks)}", f"{spent:.1f}"))
        found[variant] = {"fps": fps, "matched": matched}
        for line in missed:
            print(f"{variant}: missed {line}")
    table(rows, (8, 10, 13, 13, 12))
    return found


# --- memory ---------------------------------------------------------------------------------------------


def repeated(clip: Path, times: int, out: Path) -> Path:
    """The clip `times` times in a row, by copying its compressed packets with shifted timestamps."""
    with av.open(str(clip)) as src, av.open(str(out), "w", format="mp4") as dst:
        stream = src.streams.video[0]
        copy = dst.add_stream_from_template(stream)
        span = 0
        for k in range(times):
            src.seek(0, stream=stream)
            end = 0
            for packet in src.demux(stream):
                if packet.dts is None:
                    continue  # the demuxer's final empty packet
                end = max(end, packet.pts + (packet.duration or 0))
                packet.pts += k * span
                packet.dts += k * span
                packet.stream = copy
                dst.mux(packet)
            span = span or end - (stream.start_time or 0)
    return out


def peak_rss(clip: Path, exercise: str, *flags: str) -> float:
    """MiB: a fresh process running the `formcheck analyze` path on the clip (report written to a temp file),
    with `flags` added to its command line."""
    # VmHWM, not ru_maxrss: Linux carries the forking parent's high-water mark over exec into ru_maxrss
    code = ("import re, sys; from formcheck.cli import main; "
            "rc = main(['analyze', sys.argv[1], '-e', sys.argv[2], '--json', sys.argv[3], '-q', *sys.argv[4:]]); "
            "print(int(re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read())[1]) / 1024); "
            "sys.exit(rc)")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, "-c", code, str(clip), exercise, str(Path(tmp) / "r.json"), *flags],
                              capture_output=True, text=True, check=True)
    return float(done.stdout.split()[-1])


def memory(clip: Path, exercise: str, times: int) -> dict:
    print(f"\n== memory: peak RSS of a fresh `formcheck analyze` process ({available_cores()} workers)")
    with tempfile.TemporaryDirectory() as tmp:
        long = repeated(clip, times, Path(tmp) / f"{clip.stem}-x{times}.mp4")
        short_info, long_info = probe(clip), probe(long)
        short_mib, long_mib = peak_rss(clip, exercise), peak_rss(long, exercise)
    extra_min = (long_info.duration_s - short_info.duration_s) / 60
    extra_frames = long_info.frames - short_info.frames
    per_min = (long_mib - short_mib) / extra_min
    table([("clip", "minutes", "frames", "peak RSS MiB"),
           (clip.name, f"{short_info.duration_s / 60:.2f}", short_info.frames, f"{short_mib:.0f}"),
           (f"the same x{times}", f"{long_info.duration_s / 60:.2f}", long_info.frames, f"{long_mib:.0f}")],
          (30, 9, 9, 14))
    frame_mib = long_info.width * long_info.height * 3 / 2**20
    print(f"growth {per_min:.1f} MiB per minute of video = {(long_mib - short_mib) * 1024 / extra_frames:.1f} KiB "
          f"a frame (one decoded {long_info.width}x{long_info.height} frame is {frame_mib:.1f} MiB)")
    return {"short_mib": short_mib, "long_mib": long_mib, "mib_per_min": per_min}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    ap.add_argument("--exercise", default=DEFAULT_EXERCISE)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each (alternating); medians reported")
    ap.add_argument("--times", type=int, default=8, help="memory: the long clip is the clip this many times over")
    ap.add_argument("--only", default="speed,people,models,memory", help="comma-separated sections to run")
    args = ap.parse_args()
    sections = set(args.only.split(","))
    if args.repeat < 1 or args.times < 2 or not sections <= {"speed", "people", "models", "memory"}:
        ap.error("--repeat >= 1, --times >= 2, --only from speed,people,models,memory")
    print(f"machine    {os.cpu_count()} cpus ({available_cores()} usable), {cpu_model()}, "
          f"{platform.system()} {platform.machine()}")
    print(f"software   python {platform.python_version()}, mediapipe {mp.__version__}, numpy {np.__version__}, "
          f"av {av.__version__}")
    results = {}
    if "speed" in sections:
        results["speed"] = speed(args.clip, args.exercise, args.repeat)
    if "people" in sections:
        results["people"] = people(args.clip, args.repeat)
    if "models" in sections:
        results["models"] = model_choice(args.clip)
    if "memory" in sections:
        results["memory"] = memory(args.clip, args.exercise, args.times)
    print("\nRESULT " + json.dumps(results, default=lambda x: round(float(x), 3)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
