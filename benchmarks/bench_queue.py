"""Uploads per minute through the job queue (formcheck/jobs.py) with 1 and 2 workers.

Starts `formcheck worker` processes on a Redis on loopback (database 12, emptied first) and a local media
folder, submits a batch of real short clips at once through the page's API (`jobs.submit`), and times the batch
from the first submit to the last report. Configurations:

  1 worker, 1 core     a worker pinned to one core (taskset), one part per analysis
  2 workers, 1 core    two such workers, each on a core of its own: what adding a worker machine adds
  1 worker, 2 cores    one worker using the whole machine (the analysis split in two parts, the default)
  2 workers, 2 cores   two workers on the same 2 cores, each splitting its analyses in two (the defaults)

    .venv/bin/python benchmarks/bench_queue.py [--copies 2] [--configs 1x1,2x1,1x2,2x2]

Every timing includes handing the video to the media store, the queue, and each pool process's first model
load; the worker processes are started (and ready) before the clock starts. The workers' CPU time (their
process groups, read from /proc) is reported too: on a machine shared with other work, the wall clock says what
was had, the CPU time per upload what a dedicated core would do.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
VIDEOS = REPO.parent / "shared" / "videos"
FORMCHECK = str(Path(sys.executable).parent / "formcheck")
CLIPS = [("legraise_supine_dk2.mp4", "straight_leg_raise"), ("squat_side_kan6.mp4", "squat"),
         ("rdl_side_flat_gazi_TR.mp4", "hip_hinge"), ("treepose_sheknows.mp4", "single_leg_balance")]


def start_workers(n: int, cores_each: int, env: dict, logs: Path) -> list[subprocess.Popen]:
    procs = []
    for i in range(n):
        cmd = [FORMCHECK, "worker", "--name", f"bench{i}", "--loglevel", "WARNING"]
        if cores_each == 1:
            cmd = ["taskset", "-c", str(i % os.cpu_count()), *cmd, "--threads", "1"]
        log = open(logs / f"worker{i}.log", "w")
        procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
    return procs


def wait_ready(procs: list[subprocess.Popen], app, timeout_s: float = 90) -> None:
    """Every worker answers a ping (and its pool has had a moment to import the analysis: worker_process_init)."""
    deadline = time.monotonic() + timeout_s
    while len(app.control.ping(timeout=1.0)) < len(procs):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            raise SystemExit("the workers did not start: see their logs")
    time.sleep(3)


def cpu_seconds(procs: list[subprocess.Popen]) -> float:
    """CPU time (user + system) of the workers' process groups so far: each worker and its pool processes."""
    groups = {p.pid for p in procs}
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in groups:  # field 5, the process group
            total += int(fields[11]) + int(fields[12])  # fields 14 and 15, utime and stime
    return total / os.sysconf("SC_CLK_TCK")


def stop(procs: list[subprocess.Popen]) -> None:
    import signal

    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def run(config: str, copies: int, redis_url: str, media: Path, logs: Path) -> dict:
    import redis

    from formcheck import jobs

    n, cores_each = (int(x) for x in config.split("x"))
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    env = {**os.environ, "FORMCHECK_BROKER_URL": redis_url, "FORMCHECK_MEDIA_URL": str(media)}
    os.environ.update(FORMCHECK_BROKER_URL=redis_url, FORMCHECK_MEDIA_URL=str(media))  # this process submits
    procs = start_workers(n, cores_each, env, logs)
    try:
        wait_ready(procs, jobs.celery_app(redis_url))
        batch = [(VIDEOS / name, exercise) for name, exercise in CLIPS] * copies
        cpu0, t0 = cpu_seconds(procs), time.monotonic()
        submitted = [(jobs.submit(path, exercise, name=path.name), time.monotonic()) for path, exercise in batch]
        latencies = []
        for job_id, t_sub in submitted:
            jobs.wait(job_id, timeout_s=1800, poll_s=0.2)
            latencies.append(time.monotonic() - t_sub)
            jobs.discard(job_id)
        wall = time.monotonic() - t0
        cpu = cpu_seconds(procs) - cpu0
    finally:
        stop(procs)
        client.flushdb()
    video_s = sum(_duration(path) for path, _ in batch)
    return {"config": config, "uploads": len(batch), "wall_s": wall, "per_min": 60 * len(batch) / wall,
            "video_s": video_s, "x_real_time": video_s / wall, "median_latency_s": statistics.median(latencies),
            "cpu_per_upload_s": cpu / len(batch), "cores_used": cpu / wall}


def _duration(path: Path) -> float:
    from formcheck.video import probe

    return probe(path).duration_s


LABELS = {"1x1": "1 worker, 1 core", "2x1": "2 workers, 1 core each", "1x2": "1 worker, 2 cores",
          "2x2": "2 workers, 2 cores shared"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=2, help="each of the 4 clips this many times per batch")
    ap.add_argument("--configs", default="1x1,2x1,1x2,2x2", help="WORKERSxCORES_EACH, comma-separated")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    args = ap.parse_args()
    import tempfile

    print(f"machine  {os.cpu_count()} cpus, {platform.processor() or platform.machine()}, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at start")
    print(f"batch    {len(CLIPS) * args.copies} uploads at once: " + ", ".join(n for n, _ in CLIPS) +
          f" x{args.copies}")
    results = []
    with tempfile.TemporaryDirectory(prefix="formcheck-bench-queue-") as tmp:
        for config in args.configs.split(","):
            result = run(config, args.copies, args.redis, Path(tmp) / "media", Path(tmp))
            results.append(result)
            print(f"{LABELS.get(config, config):<26} {result['wall_s']:6.1f} s  {result['per_min']:5.1f} uploads/min  "
                  f"{result['x_real_time']:4.2f}x real time  median wait+analysis {result['median_latency_s']:5.1f} s  "
                  f"CPU {result['cpu_per_upload_s']:5.1f} s/upload ({result['cores_used']:.2f} cores busy)",
                  flush=True)
    print(f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    base = next((r for r in results if r["config"] == "1x1"), None)
    two = next((r for r in results if r["config"] == "2x1"), None)
    if base and two:
        print(f"a second worker with a core of its own: {two['per_min'] / base['per_min']:.2f}x the uploads per minute")
    for r in results:  # what a core does when nothing else runs on it: from the CPU time, not the wall clock
        print(f"{LABELS.get(r['config'], r['config']):<26} CPU per upload {r['cpu_per_upload_s']:5.1f} s -> "
              f"{60 / r['cpu_per_upload_s']:.1f} uploads/min per dedicated core")


if __name__ == "__main__":
    main()
