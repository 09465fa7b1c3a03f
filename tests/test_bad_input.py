"""Bad input the way phones and users make it, each with a defined outcome: a report whose refused spans
say what could not be judged, or one clear line and no output — never a traceback or a half-written file.
The corpus is generated here (nothing binary is committed)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, clip
from formcheck.video import VideoWriter, probe

pytestmark = pytest.mark.integration


def write_clip(path, times, size=(320, 240), frame=None):
    w, h = size
    with VideoWriter(path, w, h, fps=25) as writer:
        for i, t in enumerate(times):
            writer.write(frame(i) if frame else np.zeros((h, w, 3), np.uint8), t)
    return path


def analyze(video, tmp_path, exercise="straight_leg_raise", *options):
    out = tmp_path / "report.json"
    run = subprocess.run([sys.executable, "-m", "formcheck.cli", "analyze", str(video), "-e", exercise, "--json",
                          str(out), "-q", *options], capture_output=True, text=True, timeout=300)
    return run, out


def one_clear_line(run, out):
    assert run.returncode != 0
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("formcheck: error:") and "Traceback" not in run.stderr, run.stderr
    assert not out.exists()  # no report, not even half of one
    return lines[0]


def test_over_long_video_is_refused_before_decoding(tmp_path):
    clip = write_clip(tmp_path / "film.mp4", [0.0, 4 * 3600.0])  # two frames, four hours apart
    line = one_clear_line(*analyze(clip, tmp_path))
    assert "limit is 30 min" in line


def test_8k_video_is_refused_before_decoding(tmp_path):
    clip = write_clip(tmp_path / "master.mp4", [0.0, 0.04], size=(7680, 4320))
    line = one_clear_line(*analyze(clip, tmp_path))
    assert "limit is 4K" in line


def test_still_image_renamed_mp4_is_one_clear_line(tmp_path):
    import cv2

    fake = tmp_path / "photo.mp4"
    cv2.imwrite(str(tmp_path / "p.png"), np.zeros((64, 64, 3), np.uint8))
    fake.write_bytes((tmp_path / "p.png").read_bytes())
    one_clear_line(*analyze(fake, tmp_path))


@pytest.mark.parametrize("name", ["my clip (1).mp4", "übung – knie.mp4", "a;b&c$.mp4"])
def test_odd_file_names_work(tmp_path, name):
    clip = write_clip(tmp_path / name, [i / 25 for i in range(25)])
    run, out = analyze(clip, tmp_path)
    assert run.returncode == 0, run.stderr
    assert json.loads(out.read_text())["video"]["frames"] == 25


def test_nobody_in_view_and_a_very_dark_clip_give_reports_that_say_why(tmp_path):
    dark = write_clip(tmp_path / "dark.mp4", [i / 25 for i in range(50)],
                      frame=lambda i: np.full((240, 320, 3), 6, np.uint8))
    run, out = analyze(dark, tmp_path)
    assert run.returncode == 0, run.stderr
    report = json.loads(out.read_text())
    assert report["reps"] == [] and [r["reason"] for r in report["refused"]] == ["no_person"]
    assert report["refused"][0]["end_s"] - report["refused"][0]["start_s"] > 1.5


def test_variable_frame_rate_times_come_from_the_container(tmp_path):
    times = np.cumsum([0.0] + [1 / 30 if i % 3 else 1 / 10 for i in range(59)])  # uneven gaps
    clip = write_clip(tmp_path / "vfr.mp4", list(times))
    run, out = analyze(clip, tmp_path, "straight_leg_raise", "--every-frame")  # the last frame is analysed
    assert run.returncode == 0, run.stderr
    report = json.loads(out.read_text())
    assert report["video"]["frames"] == 60
    assert report["refused"][0]["end_s"] == pytest.approx(times[-1], abs=0.02)  # true PTS, not frames ÷ fps


def test_a_long_upload_costs_no_more_memory_than_a_short_one(tmp_path):
    """Frames are streamed, never held: the clip ten times over (copied packets of a real clip) peaks at
    about the same RSS. Keeping even one decoded frame in twenty would add more than the bound. Tracked at
    5 frames/s (every frame is still decoded; holding each tracked one would be one in five): the model's
    work adds nothing to what is measured."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_pipeline import peak_rss, repeated

    short = clip("lunge_ucf101_g18c05.mp4")
    long = repeated(short, 10, tmp_path / "long.mp4")
    extra_frames = probe(long).frames - probe(short).frames
    short_mib, long_mib = peak_rss(short, "lunge", "--fps", "5"), peak_rss(long, "lunge", "--fps", "5")
    frame_mib = probe(short).width * probe(short).height * 3 / 2**20
    print(f"peak RSS {short_mib:.0f} MiB short, {long_mib:.0f} MiB for {extra_frames} more frames")
    assert long_mib - short_mib < extra_frames * frame_mib / 20
