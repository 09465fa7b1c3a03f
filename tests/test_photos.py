"""Still photos as input (IMAGE mode): the posture faults of a held position, judged on absolute criteria,
against the dev labels of ../shared/photos; and the CLI's photo report."""

import json
import subprocess
import sys

import pytest

from conftest import SHARED
from formcheck.analyze import analyze_photo

pytestmark = pytest.mark.integration
PHOTOS = SHARED / "photos"
LABELS = {k: v for k, v in json.loads((PHOTOS / "labels-dev.json").read_text()).items() if not k.startswith("_")}


@pytest.mark.parametrize("name", sorted(LABELS))
def test_labelled_photo(name):
    label = LABELS[name]
    analysis, info = analyze_photo(PHOTOS / name, label["formcheck_exercise"])
    faults = {f.code for f in analysis.result.faults}
    assert analysis.result.refused == [], "a labelled photo must be judged, not refused"
    if "back" in label:
        assert ("back_rounded" in faults) == label["back"].startswith("rounded"), faults
    if label.get("knee") == "straight":
        assert "knee_bent" not in faults
    if label.get("back_knee") == "straight":
        assert "back_knee_bent" not in faults
    if label.get("back_heel") == "down":
        assert "heel_lifted" not in faults
    assert info.frames == 1


def test_cli_photo_report(tmp_path):
    out, png = tmp_path / "r.json", tmp_path / "a.png"
    run = subprocess.run([sys.executable, "-m", "formcheck.cli", "analyze", str(PHOTOS / "fedb_heelonstep_rounded.jpg"),
                          "-e", "hamstring_stretch_standing", "--json", str(out), "--annotated", str(png)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    report = json.loads(out.read_text())
    assert report["video"]["frames"] == 1 and report["reps"] == [] and report["holds"] == []
    assert [f["code"] for f in report["faults"]] == ["back_rounded"]
    assert report["faults"][0]["message"] == "Hinge from your hips, keep your back straight"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
