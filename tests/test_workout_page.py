"""The workout view in a real browser (Debian's Chromium, a real clip as the camera): the camera and a large
counter fill the first screen at 1280×800, a countdown before counting, each set counted up to its target and
no further, "set done" said aloud, a rest timer, the next set by itself, the table of all sets at STOP; the start
page at 390 px wide (a phone) without horizontal scroll; no developer toolbar; "Try the sample"; and the app
served over HTTPS by `scripts/app --https`. Slow: each test drives the app."""

import http.client
import os
import re
import socket
import ssl
import subprocess
import time
import urllib.request

import pytest
from conftest import REPO
from test_browser import SPOKEN_JS, idle, review_mode, start, start_server
from test_remote_loop import answer_screen, sign_in

pytestmark = pytest.mark.integration

IFRAME = 'iframe[title="streamlit_webrtc.component.webrtc_streamer"]'
PATIENT = ("pat", "raise-both-legs-42")
SETS, REPS, REST_S = 2, 3, 8  # the patient's prescription: short, so that two sets and a rest fit in a test

# Everything the workout view shows, as it changes (a MutationObserver in the main page): each counter and set
# text, each message (countdown, rest, all done), and the counter's font size and the camera's top edge.
WATCH_JS = """() => {
  if (window.__w) return;
  const w = window.__w = {counters: [], sets: [], phases: [], fonts: [], cameraTops: []};
  const note = (list, value) => { if (value && list[list.length - 1] !== value) list.push(value); };
  const scan = () => {
    const counter = document.querySelector('.st-key-workout-counter [data-testid="stMetricValue"]');
    if (counter) {
      note(w.counters, counter.innerText.trim()); note(w.fonts, parseFloat(getComputedStyle(counter).fontSize));
    }
    const set = document.querySelector('.st-key-workout-set [data-testid="stMetricValue"]');
    if (set) note(w.sets, set.innerText.trim());
    const phase = document.querySelector('.st-key-workout-phase');
    if (phase) note(w.phases, phase.innerText.trim());
  };
  new MutationObserver(scan).observe(document.body, {subtree: true, childList: true, characterData: true});
  scan();
}"""
# Where the returned video's top edge is in the window (the component's iframe, then its <video>).
CAMERA_TOP_JS = """() => {
  const f = document.querySelector('iframe[title="streamlit_webrtc.component.webrtc_streamer"]');
  const v = f && f.contentDocument.querySelector('video'); if (!v || !v.videoWidth) return null;
  return f.getBoundingClientRect().top + v.getBoundingClientRect().top; }"""
SCROLL_TOP_JS = """() => {
  for (const el of [document.querySelector('[data-testid="stMain"]'), document.scrollingElement])
    el && el.scrollTo(0, 0); }"""
NO_SIDEWAYS_SCROLL_JS = """() => { const main = document.querySelector('[data-testid="stMain"]');
  return [document.documentElement.scrollWidth, document.body.scrollWidth, main ? main.scrollWidth : 0,
          window.innerWidth]; }"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app on its own database: a therapist and a patient prescribed 2 sets × 3 leg raises, 8 s rest."""
    from formcheck.clinic import OPERATOR, Clinic
    from formcheck.store import open_store

    work = tmp_path_factory.mktemp("workout")
    clinic = Clinic(open_store(f"sqlite:///{work / 'clinic.db'}"))
    clinic.create_user(OPERATOR, "drt", "knees-and-hips-7", "therapist", "Dr T")
    therapist = clinic.login("drt", "knees-and-hips-7")
    # made by the server's operator: a password the patient need not change at the first sign-in
    patient = clinic.create_user(OPERATOR, *PATIENT, "patient", "Pat", therapist_id=therapist.id)
    clinic.prescribe(therapist, patient, "straight_leg_raise", sets=SETS, reps=REPS, per_week=7, rest_s=REST_S)
    url, proc = start_server(work)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def start_workout(page):
    """START once the coach is ready (its overlay's counter shows in the page within the first seconds)."""
    page.evaluate(WATCH_JS)
    page.frame_locator(IFRAME).get_by_role("button", name="START").click()
    page.wait_for_function("() => !!document.querySelector('" + IFRAME + "').contentDocument.querySelector('video')",
                           timeout=60_000)


def counts(texts: list[str]) -> list[tuple[int, int]]:
    """("3 / 10" …) as (3, 10) pairs."""
    return [(int(a), int(b)) for a, b in (re.match(r"(\d+) / (\d+)", t).groups() for t in texts if t[0].isdigit())]


def test_workout_view_fills_the_first_screen_with_a_large_counter_and_no_developer_toolbar(browser, server):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    start(page, server)  # a guest: the default leg raise, 3 sets × 10 reps
    assert page.get_by_role("button", name="Deploy").count() == 0  # viewer toolbar: no developer options
    assert page.get_by_text("Deploy", exact=True).count() == 0
    page.locator(".st-key-workout-counter").wait_for(timeout=60_000)
    page.wait_for_selector("text=How to do it")
    assert page.locator('.st-key-how-to-demo img').count() == 1  # the looping stick-figure demo
    start_workout(page)
    deadline, top = time.time() + 300, None  # a hang guard: the camera shows within seconds
    while time.time() < deadline and top is None:
        page.wait_for_timeout(500)
        page.evaluate(SCROLL_TOP_JS)
        top = page.evaluate(CAMERA_TOP_JS)
    page.wait_for_function("() => window.__w.counters.some(c => parseInt(c) >= 1)", timeout=300_000)  # hang guard
    page.evaluate(SCROLL_TOP_JS)
    top = page.evaluate(CAMERA_TOP_JS)
    seen = page.evaluate("() => window.__w")
    page.screenshot(path=str(REPO / ".pytest_cache" / "workout-1280x800.png"))
    assert top is not None and top < 0.6 * 800, f"the camera's top is at {top} px of an 800-px window"
    assert min(seen["fonts"]) >= 48, f"counter font sizes {seen['fonts']}"
    assert any("counting starts in" in p for p in seen["phases"]), seen["phases"]  # the countdown came first
    assert counts(seen["counters"])[0] == (0, 10) and all(n <= 10 for n, _ in counts(seen["counters"]))
    assert page.locator('[data-testid="stExpander"]').count() == 0  # the answered questions: one line
    assert page.get_by_text("Safety questions answered", exact=False).count() == 1
    assert page.evaluate(NO_SIDEWAYS_SCROLL_JS)[0] <= 1280


def test_sets_count_to_their_target_then_rest_then_the_next_set_and_stop_shows_every_set(browser, server):
    """The patient's 2 sets × 3 reps with 8 s rest, dk2's leg raises looped as the camera (3 reps a loop)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script(SPOKEN_JS)
    sign_in(page, server, *PATIENT)
    answer_screen(page)
    page.wait_for_function("() => document.querySelector('.st-key-workout-counter [data-testid=stMetricValue]')"
                           f"?.innerText.trim() === '0 / {REPS}'", timeout=60_000)  # the prescription's reps
    start_workout(page)
    page.wait_for_function("() => window.__w.phases.some(p => p.includes('All 2 sets done'))", timeout=240_000)
    seen = page.evaluate("() => window.__w")
    spoken = page.evaluate("() => window.__spoken || []")
    page.frame_locator(IFRAME).get_by_role("button", name="STOP").click()
    page.wait_for_selector("text=Your sets", timeout=60_000)
    idle(page)
    page.screenshot(path=str(REPO / ".pytest_cache" / "workout-sets.png"), full_page=True)

    phases, sets = seen["phases"], seen["sets"]
    assert any("counting starts in" in p for p in phases[:2]), phases  # a countdown before anything counts
    rests = [int(re.search(r"Rest: (\d+) s", p).group(1)) for p in phases if p.startswith("⏱ Rest")]
    assert rests and max(rests) <= REST_S and min(rests) < max(rests), phases  # a rest timer, counting down
    assert "Set 2 of 2 starts by itself" in next(p for p in phases if "Rest" in p)
    assert sets.index("1 of 2") < sets.index("1 of 2 done") < sets.index("2 of 2") < sets.index("2 of 2 done"), sets
    assert max(n for n, _ in counts(seen["counters"])) == REPS  # a looped clip never shows "4 / 3"
    assert any(s.startswith("Set done") for s in spoken), spoken  # "set done", said aloud
    table = page.locator(".st-key-workout-summary table")
    rows = table.locator("tbody tr").evaluate_all("rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")
    assert [r[:3] for r in rows] == [["1", f"{REPS} / {REPS}", "yes"], ["2", f"{REPS} / {REPS}", "yes"]], rows
    assert page.get_by_role("button", name="Save session").count() == 1


def test_start_page_has_no_horizontal_scroll_at_390_px(browser, server):
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(server)
    idle(page)
    assert max(page.evaluate(NO_SIDEWAYS_SCROLL_JS)[:3]) <= 390
    start(page, server)
    page.locator(".st-key-workout-counter").wait_for(timeout=60_000)
    page.wait_for_selector(".st-key-how-to-demo img")  # the demo, fitted to the width
    page.wait_for_timeout(1000)
    widths = page.evaluate(NO_SIDEWAYS_SCROLL_JS)
    page.screenshot(path=str(REPO / ".pytest_cache" / "start-390.png"), full_page=True)
    assert max(widths[:3]) <= 390, widths


def test_the_review_mode_tries_the_sample_clip(browser, server):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    start(page, server)
    review_mode(page)
    page.get_by_role("button", name="Try the sample").click()
    page.wait_for_selector('[data-testid="stVideo"]', timeout=180_000)
    idle(page)
    reps = page.locator('[data-testid="stMetric"]').filter(has_text="Reps").locator('[data-testid="stMetricValue"]')
    assert reps.inner_text() == "3"  # sample_videos/legraise_supine_dk2.mp4: 3 raises
    assert page.get_by_text("Keep your knee straight").count() >= 1
    assert page.locator('[data-testid="stException"]').count() == 0


def test_scripts_app_https_serves_the_page_over_tls_with_a_certificate_it_made(browser, tmp_path):
    """`scripts/app --https`: a self-signed certificate made on first use, the page fetched over TLS against
    it, and in Chromium a secure context (where browsers give a page the camera)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tls = tmp_path / "tls"
    env = {**os.environ, "FORMCHECK_TLS_DIR": str(tls), "FORMCHECK_DB_URL": f"sqlite:///{tmp_path / 'clinic.db'}"}
    with open(tmp_path / "app.log", "w") as log:
        proc = subprocess.Popen([str(REPO / "scripts" / "app"), "--https", "--server.port", str(port)], cwd=REPO,
                                env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        context = None
        for _ in range(240):
            if (tls / "cert.pem").exists() and context is None:
                time.sleep(0.2)
                context = ssl.create_default_context(cafile=str(tls / "cert.pem"))
            if context is not None:
                try:
                    urllib.request.urlopen(f"https://localhost:{port}/_stcore/health", context=context, timeout=2)
                    break
                except OSError:
                    pass
            assert proc.poll() is None, (tmp_path / "app.log").read_text()[-2000:]
            time.sleep(0.5)
        else:
            pytest.fail("the app did not answer over HTTPS: " + (tmp_path / "app.log").read_text()[-2000:])
        assert oct((tls / "key.pem").stat().st_mode & 0o777) == "0o600"
        page = urllib.request.urlopen(f"https://localhost:{port}/", context=context, timeout=10)
        assert page.status == 200 and b"<title>" in page.read()
        with pytest.raises((OSError, http.client.HTTPException)):  # plain HTTP is not served
            urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=5).read()

        context = browser.new_context(ignore_https_errors=True)  # a self-signed certificate
        try:
            tab = context.new_page()
            tab.goto(f"https://localhost:{port}/")
            idle(tab)
            tab.get_by_role("radiogroup").first.wait_for(timeout=60_000)  # the safety questions: the page works
            assert tab.evaluate("() => window.isSecureContext && !!navigator.mediaDevices")
        finally:
            context.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
