"""Work in a child interpreter (formcheck/child.py): an upload's review runs there with the real model, its
progress comes back as it goes, its clear errors come back as errors, and a lost child is a clear error too."""

import json
import os
import subprocess
import sys

import pytest

from conftest import clip, ends_within
from formcheck import child
from formcheck.errors import FormcheckError
from formcheck.review import review_upload

pytestmark = pytest.mark.integration


def test_an_uploads_review_in_a_child_gives_the_result_and_its_progress(tmp_path):
    seen = []
    review = child.call(review_upload, clip("legraise_supine_dk2.mp4"), "straight_leg_raise", None,
                        tmp_path / "annotated.mp4", "my raises.mp4", progress=lambda d, t: seen.append((d, t)))
    analysis, report = review.analysis, review.report
    assert len(analysis.result.reps) == 3 and "knee_bent" in analysis.result.reps[-1].faults
    assert report["video"]["analysed_frames"] == len(analysis.poses) and (tmp_path / "annotated.mp4").stat().st_size > 0
    assert report["video"]["path"] == "my raises.mp4" and json.loads(review.report_json) == report
    assert review.moments and all(png.startswith(b"\x89PNG") for _, png in review.moments)  # fault moments
    codes = {f.code for f in analysis.result.faults}
    assert any("knee_bent" in caption for caption, _ in review.moments)  # dk2's labelled fault is shown
    assert all(any(code in caption for code in codes) for caption, _ in review.moments)
    assert review.frames_csv.count("\n") == len(analysis.poses) + 1  # a header and a row per frame
    assert "my raises.mp4" in review.report_html and review.report_html.count("<img") == len(review.moments)
    assert {layer["mark"]["type"] for layer in review.chart["layer"]} == {"rect", "line"}
    assert seen and seen == sorted(seen) and seen[-1][0] == seen[-1][1]  # progress in order, up to done


def test_a_clear_error_in_the_child_is_raised_here(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    with pytest.raises(FormcheckError, match="notes.mp4"):
        child.call(review_upload, text, "straight_leg_raise", None, tmp_path / "annotated.mp4", "notes.mp4")
    assert not (tmp_path / "annotated.mp4").exists()


def test_a_child_that_dies_is_a_clear_error(tmp_path):
    with pytest.raises(child.ChildGone, match="try again"):
        child.call(os._exit, 3)  # the child ends without an answer


def test_a_child_ends_when_its_server_is_gone(tmp_path):
    """A killed server cannot tell its children: they notice and end (here the 'server' is a python that
    starts a coach child, reports its pid and dies)."""
    script = ("import sys; from formcheck import child; conn, c = child.start('formcheck.coach_process'); "
              "print(c.pid, flush=True); import os; os._exit(0)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    pid = int(out.stdout.split()[0])
    assert ends_within(pid, 10), f"the child {pid} outlived its server"
