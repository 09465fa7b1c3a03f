"""How much does formcheck cost on top of the bare pose model? One clip, one process.

Speed is measured here, by comparing the whole offline analysis with the bare pose model on the same
frames, not by timed tests (timings on shared CI machines are noise, and a test cannot say what
"fast enough" means; a ratio to the bare model can). Two things are timed:

  pipeline  formcheck.analyze.analyze_video (PyAV decode -> PoseLandmarker VIDEO mode -> kinematics ->
            smoothing -> checker) + report.build_report + report.report_json
  bare      formcheck.video.read_frames + a plain mediapipe PoseLandmarker (same options as
            formcheck.pose.PoseEstimator) calling detect_for_video per frame, nothing else

Fairness: analyze_video creates its own landmarker, so the bare timing includes creating (and closing)
one too; the creation time is also measured on its own and printed. A warm-up (bare, first frames,
untimed) pays the first model load and the page cache; then bare and pipeline runs alternate
(--repeat N each) and the medians are compared.

    python benchmarks/bench_pipeline.py [--clip PATH] [--exercise NAME] [--model lite|full|heavy] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
from itertools import islice
from pathlib import Path

import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions, vision

from formcheck import models
from formcheck.analyze import analyze_video
from formcheck.pose import native_logs_silenced
from formcheck.report import build_report, report_json
from formcheck.video import probe, read_frames

DEFAULT_CLIP = Path(__file__).resolve().parents[2] / "shared" / "videos" / "legraise_supine_dk1.mp4"
TARGET_OVERHEAD_PCT = 10.0


def make_landmarker(model_path: Path):
    """The same options formcheck.pose.PoseEstimator uses in VIDEO mode (num_poses=2, no masks)."""
    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model_path)), running_mode=vision.RunningMode.VIDEO,
        num_poses=2, output_segmentation_masks=False,
    )
    with native_logs_silenced():
        return vision.PoseLandmarker.create_from_options(options)


def bare(clip: Path, model_path: Path, limit: int | None = None) -> tuple[float, float, int]:
    """(total seconds, landmarker creation seconds, frames): decode + detect_for_video, nothing else."""
    t0 = time.perf_counter()
    landmarker = make_landmarker(model_path)
    created = time.perf_counter() - t0
    n, last_ms = 0, -1
    try:
        with native_logs_silenced():  # the first inference logs on fd 2
            for frame in islice(read_frames(clip), limit):
                ms = max(int(round(frame.t_s * 1000)), last_ms + 1)  # VIDEO mode: strictly increasing ms
                last_ms = ms
                landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=frame.rgb), ms)
                n += 1
    finally:
        landmarker.close()
    return time.perf_counter() - t0, created, n


def pipeline(clip: Path, exercise: str, variant: str) -> tuple[float, int, int]:
    """(seconds, frames analysed, report bytes): analyze_video + build_report + report_json."""
    t0 = time.perf_counter()
    analysis, info = analyze_video(clip, exercise, variant=variant)
    text = report_json(build_report(analysis, info, variant))
    return time.perf_counter() - t0, len(analysis.states), len(text)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    ap.add_argument("--exercise", default="straight_leg_raise")
    ap.add_argument("--model", choices=models.VARIANTS, default=models.DEFAULT_VARIANT)
    ap.add_argument("--repeat", type=int, default=2, help="timed runs of each (alternating); medians reported")
    args = ap.parse_args()
    if args.repeat < 1:
        ap.error("--repeat must be >= 1")

    info = probe(args.clip)
    model_path = models.ensure_model(args.model)
    print(f"machine    {os.cpu_count()} cpus, {cpu_model()}, {platform.system()} {platform.machine()}")
    print(f"software   python {platform.python_version()}, mediapipe {mp.__version__}, numpy {np.__version__}")
    print(f"clip       {args.clip.name}: {info.width}x{info.height}, {info.frames} frames, "
          f"{info.duration_s:.2f} s, {info.fps:.2f} fps")
    print(f"run        exercise {args.exercise}, model {args.model}, repeat {args.repeat}")
    print("fairness   both timings include creating + closing one landmarker (analyze_video makes its own);"
          " warm-up untimed")

    bare(args.clip, model_path, limit=30)  # warm-up: first model load, page cache
    bare_t, pipe_t, creates = [], [], []
    frames = None
    for i in range(args.repeat):
        t, c, n_bare = bare(args.clip, model_path)
        bare_t.append(t)
        creates.append(c)
        t, n_pipe, size = pipeline(args.clip, args.exercise, args.model)
        pipe_t.append(t)
        if n_bare != n_pipe:
            print(f"warning: bare saw {n_bare} frames, pipeline {n_pipe}", file=sys.stderr)
        frames = n_pipe
        print(f"run {i + 1}      bare {bare_t[-1]:7.3f} s   pipeline {pipe_t[-1]:7.3f} s   "
              f"(landmarker creation {c * 1000:.0f} ms, report {size} B)")

    b, p, c = statistics.median(bare_t), statistics.median(pipe_t), statistics.median(creates)
    ratio = p / b
    overhead = (ratio - 1) * 100
    rss = peak_rss_mib()
    rows = [
        ("", "time s", "frames/s", "x real time"),
        ("bare model", f"{b:.3f}", f"{frames / b:.1f}", f"{info.duration_s / b:.2f}"),
        ("pipeline", f"{p:.3f}", f"{frames / p:.1f}", f"{info.duration_s / p:.2f}"),
        ("bare w/o creation", f"{b - c:.3f}", f"{frames / (b - c):.1f}", f"{info.duration_s / (b - c):.2f}"),
        ("pipeline w/o creation", f"{p - c:.3f}", f"{frames / (p - c):.1f}", f"{info.duration_s / (p - c):.2f}"),
    ]
    print()
    for name, *cols in rows:
        print(f"{name:<22}" + "".join(f"{col:>13}" for col in cols))
    print()
    print(f"{'frames analysed':<22}{frames:>13}")
    print(f"{'landmarker creation':<22}{c * 1000:>10.0f} ms  (median, inside both timings)")
    print(f"{'ratio pipeline/bare':<22}{ratio:>13.3f}")
    verdict = "OK" if overhead <= TARGET_OVERHEAD_PCT else "OVER TARGET"
    print(f"{'overhead':<22}{overhead:>12.1f} %  (target <= {TARGET_OVERHEAD_PCT:.0f} %: {verdict})")
    print(f"{'peak RSS':<22}{rss:>10.0f} MiB (whole process, all runs)")
    print(f"RESULT pipeline_fps={frames / p:.1f} bare_fps={frames / b:.1f} overhead_pct={overhead:.1f} "
          f"peak_rss_mib={rss:.0f} realtime_x={info.duration_s / p:.2f} model={args.model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
