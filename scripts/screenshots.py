"""The README's screenshots, made from the sample clip: the workout view (the clip as the camera) and the review
of the same clip ("Try the sample"). Runs the app on a scratch database and drives Debian's Chromium.

    .venv/bin/python scripts/screenshots.py            # writes docs/workout.png and docs/review.png
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from formcheck.safety import QUESTIONS  # noqa: E402 (the repository on the path first)
from formcheck.samples import sample_for  # noqa: E402
from formcheck.video import write_y4m  # noqa: E402

OUT = REPO / "docs"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream",
         "--use-fake-device-for-media-stream"]
IFRAME = 'iframe[title="streamlit_webrtc.component.webrtc_streamer"]'
WINDOW = {"width": 1280, "height": 800}
REVIEW_WINDOW = {"width": 1280, "height": 2400}


def serve(work: Path) -> tuple[str, subprocess.Popen]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "FORMCHECK_DB_URL": f"sqlite:///{work / 'clinic.db'}"}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.headless",
                             "true", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
                            stdout=open(work / "streamlit.log", "w"), stderr=subprocess.STDOUT, cwd=REPO, env=env)
    url = f"http://localhost:{port}"
    for _ in range(120):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return url, proc
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the app did not start (see {work / 'streamlit.log'})")


def idle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=120_000)


def answer_screen(page) -> None:
    """Every safety question answered No (each rendered in turn: wait for all; a click in a rerun may be lost)."""
    from playwright.sync_api import expect

    groups = page.locator(".st-key-safety-screen").get_by_role("radiogroup")
    expect(groups).to_have_count(len(QUESTIONS), timeout=60_000)
    for _ in range(3):
        for i in range(len(QUESTIONS)):
            if page.get_by_text("Safety questions answered").count():  # folded into one line: all answered
                return
            if not groups.nth(i).locator("input[type=radio]").first.is_checked():  # options: No, Yes
                groups.nth(i).get_by_text("No", exact=True).click()
                idle(page)


def workout(page, url: str) -> None:
    page.goto(url)
    idle(page)
    answer_screen(page)
    page.frame_locator(IFRAME).get_by_role("button", name="START").click()
    # counting has begun (after the countdown) and a rep or two are on the counter
    page.wait_for_function("() => { const c = document.querySelector('.st-key-workout-counter "
                           "[data-testid=\"stMetricValue\"]'); return c && parseInt(c.innerText) >= 2; }",
                           timeout=120_000)
    page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')?.scrollTo(0, 0)")
    page.screenshot(path=str(OUT / "workout.png"))


def review(page, url: str) -> None:
    page.goto(url)
    idle(page)
    answer_screen(page)
    page.get_by_text("Review a recorded video", exact=True).click()
    idle(page)
    page.get_by_role("button", name="Try the sample").click()
    page.get_by_text("Report (JSON)").wait_for(timeout=300_000)
    idle(page)
    page.mouse.move(0, 0)  # no tooltip
    page.set_viewport_size(REVIEW_WINDOW)  # the page scrolls inside its main element: a tall window shows it all
    page.wait_for_timeout(1500)
    page.screenshot(path=str(OUT / "review.png"))


def main() -> int:
    from playwright.sync_api import sync_playwright

    sample = sample_for("straight_leg_raise")
    if sample is None or not Path(CHROMIUM).exists():
        print("screenshots: needs sample_videos/ and Debian's chromium (scripts/test installs it)", file=sys.stderr)
        return 1
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        camera = write_y4m(sample, work / "camera.y4m")
        url, proc = serve(work)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                            args=FLAGS + [f"--use-file-for-fake-video-capture={camera}"])
                for shoot in (workout, review):
                    page = browser.new_page(viewport=WINDOW)
                    try:
                        shoot(page, url)
                    except Exception:
                        page.screenshot(path=str(work.parent / "formcheck-screenshots-failed.png"))
                        raise
                    page.close()
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    print(f"screenshots: {OUT / 'workout.png'}, {OUT / 'review.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
