"""The page in a real browser: Debian's Chromium driven by Playwright, a real clip as the webcam (WebRTC to
the real server and back), and an upload of a real clip. Slow: each test starts the app."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO, alive, clip, descendants, ends_within

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workdir, env=None, script=REPO / "app.py", port=None):
    """The app (or another Streamlit `script`) on a free port (or `port`), with its own database file; returns
    (url, process)."""
    port = port or free_port()
    log = open(workdir / "streamlit.log", "w")
    # FORMCHECK_DEBUG: an unexpected error shows as Streamlit's exception element (the page otherwise turns it
    # into a plain message), so that the tests' checks for stException see it
    env = {**os.environ, "FORMCHECK_DB_URL": f"sqlite:///{workdir / 'clinic.db'}", "FORMCHECK_DEBUG": "1",
           **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
                             "--server.port", str(port), "--browser.gatherUsageStats", "false"],
                            stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env)
    url = f"http://localhost:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            return url, proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    pytest.fail("the app did not start")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    url, proc = start_server(tmp_path_factory.mktemp("server"))
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture()
def page(browser):
    return browser.new_page(viewport={"width": 1280, "height": 900})


def idle(page):
    """Wait until the script has finished running: actions during a run can be lost."""
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=120_000)


def review_mode(page) -> None:
    """Switch to "Review a recorded video" until its file box is there (a click during a rerun can be lost)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(4):
        page.get_by_text("Review a recorded video", exact=True).click()
        idle(page)
        try:
            page.locator('input[type="file"]').wait_for(state="attached", timeout=30_000)
            return
        except PlaywrightTimeout:
            pass
    raise AssertionError("the review mode never showed its file box")


def answer_screen(page, yes=()):
    """Every question of the safety screen answered (each is one radio group in its container, in the order of
    `safety.QUESTIONS`): Yes for the keys in `yes`, else No. The page renders the questions one by one and a
    click during a rerun can be lost, so it waits for all of them and answers again whatever is still open,
    until the screen folds into its one line."""
    from playwright.sync_api import expect

    from formcheck.safety import QUESTIONS

    screen = page.locator(".st-key-safety-screen")
    groups = screen.get_by_role("radiogroup")
    expect(groups).to_have_count(len(QUESTIONS), timeout=60_000)
    for _ in range(3):
        for i, key in enumerate(QUESTIONS):
            if screen.get_by_text("Safety questions answered").count():
                return
            choice = "Yes" if key in yes else "No"
            if not groups.nth(i).locator("input[type=radio]").nth(["No", "Yes"].index(choice)).is_checked():
                groups.nth(i).get_by_text(choice, exact=True).click()
                idle(page)
    if not screen.get_by_text("Safety questions answered").count():
        raise AssertionError("the safety screen did not take every answer")


def start(page, url):
    page.goto(url)
    idle(page)
    answer_screen(page)


def live_until_reps(page, reps, timeout_ms):
    """Open the live mode, press START in the WebRTC component, wait until a counter shows `reps`; the component."""
    page.get_by_text("Exercise live", exact=True).click()
    idle(page)
    webrtc = page.frame_locator('iframe[title="streamlit_webrtc.component.webrtc_streamer"]')
    webrtc.get_by_role("button", name="START").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stMetricValue]')]"
        f".some(e => parseInt(e.innerText) >= {reps})",
        timeout=timeout_ms)
    return webrtc


# In every frame (the cue is spoken from an iframe of its own): note what the page says aloud.
SPOKEN_JS = """window.speechSynthesis && (window.speechSynthesis.speak = (u) => {
  (window.top.__spoken = window.top.__spoken || []).push(u.text); });"""


def test_live_counts_the_clip_reps_and_cues(page, server):
    page.add_init_script(SPOKEN_JS)
    start(page, server)
    webrtc = page.frame_locator('iframe[title="streamlit_webrtc.component.webrtc_streamer"]')
    webrtc.get_by_role("button", name="START").click()
    cues, reps, deadline = set(), 0, time.time() + 300  # a hang guard: it normally takes ~25 s
    spoken = lambda: page.evaluate("() => window.__spoken || []")  # noqa: E731
    # dk2's double raises are told "Lift one leg only" too: cues are spoken at most one every 2.5 s, so the knee
    # cue may be said in a later loop of the clip than the one it is first shown in
    while time.time() < deadline and not (reps >= 3 and "Keep your knee straight" in cues
                                          and "Keep your knee straight" in spoken()):
        page.wait_for_timeout(500)
        values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
        reps = int(values[0].split("/")[0]) if values and values[0][0].isdigit() else reps
        cues.update(page.locator("h3").all_inner_texts())
    page.screenshot(path=str(REPO / ".pytest_cache" / "live.png"))
    assert reps >= 3, "the counter must reach the clip's labelled 3 reps"
    assert "Keep your knee straight" in cues  # dk2's labelled fault, said on the page
    assert "Keep your knee straight" in spoken()  # and aloud
    webrtc.get_by_role("button", name="STOP").click()
    page.wait_for_selector("text=Your set", timeout=30_000)


def test_upload_shows_table_plot_video_and_downloads(page, server):
    start(page, server)
    review_mode(page)
    page.locator('input[type="file"]').set_input_files(str(clip("legraise_supine_dk2.mp4")))
    page.wait_for_selector('[data-testid="stVideo"]', timeout=180_000)
    idle(page)
    assert page.locator('[data-testid="stMetricValue"]').first.inner_text() == "3"
    page.wait_for_selector('[data-testid="stDataFrame"]', timeout=30_000)  # the rep table (rendered after the run)
    page.wait_for_selector('[data-testid="stVegaLiteChart"]', timeout=30_000)  # the angle plot
    assert page.get_by_text("Keep your knee straight").count() >= 1
    for label in ("Report (JSON)", "Angles per frame (CSV)", "Printable report (HTML)"):
        assert page.get_by_role("button", name=label).count() == 1


def bad_upload_refused(page, tmp_path, timeout_ms):
    """A text file named .mp4 uploaded on the review page: the usual one-line message, no exception."""
    bad = tmp_path / "holiday.mp4"
    bad.write_text("not a video at all\n" * 100)
    page.locator('input[type="file"]').set_input_files(str(bad))
    page.wait_for_selector('[data-testid="stAlertContentError"]', timeout=timeout_ms)
    assert "not a readable video" in page.locator('[data-testid="stAlertContentError"]').inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0


def test_bad_upload_is_a_clear_message_and_the_app_keeps_running(page, server, tmp_path):
    start(page, server)
    review_mode(page)
    bad_upload_refused(page, tmp_path, 60_000)
    page.get_by_text("Exercise live", exact=True).click()  # still alive and responsive
    idle(page)
    page.wait_for_selector('iframe[title="streamlit_webrtc.component.webrtc_streamer"]', timeout=30_000)


def coaches(server_pid: int) -> list[int]:
    """The server's live coaches' processes."""
    out = []
    for pid in descendants(server_pid):
        try:
            if b"formcheck.coach_process" in Path(f"/proc/{pid}/cmdline").read_bytes() and alive(pid):
                out.append(pid)
        except OSError:
            pass
    return out


def test_leaving_for_the_review_page_ends_the_coach_started_ahead(page, tmp_path):
    """The live page starts its coach's process before START (so START finds it ready); a patient who goes to
    the review page instead does not keep that model loaded, and coming back starts a new one."""
    url, proc = start_server(tmp_path)
    try:
        start(page, url)
        deadline = time.monotonic() + 120  # a hang guard: a coach normally starts within seconds
        while not coaches(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.25)
        first = coaches(proc.pid)
        assert len(first) == 1, "the live page started one coach ahead"
        review_mode(page)
        assert ends_within(first[0], 30) and coaches(proc.pid) == []
        page.get_by_text("Exercise live", exact=True).click()
        idle(page)
        deadline = time.monotonic() + 120  # a hang guard: a coach normally starts within seconds
        while not coaches(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.25)
        assert len(coaches(proc.pid)) == 1 and coaches(proc.pid) != first
    finally:
        proc.terminate()
        proc.wait(timeout=20)
