"""The therapist's remote loop in a real browser, end to end, on a fresh clinic database:
therapist creates a patient and a prescription → patient signs in, answers the screen, uploads a real clip
and does a live set with a clip as the camera → therapist sees the sessions, trends and faults and leaves a
note → the patient sees the note."""

import subprocess
import sys

import pytest

from conftest import REPO, clip
from test_browser import idle, live_until_reps, start_server

pytestmark = pytest.mark.integration


@pytest.fixture()
def clinic_server(tmp_path):
    made = subprocess.run([sys.executable, "-m", "formcheck.cli", "admin", "create-user", "drt", "--name", "Dr T",
                           "--password-stdin"], input="therapist-pass\n", capture_output=True, text=True, cwd=REPO,
                          env={**__import__("os").environ, "FORMCHECK_DB_URL": f"sqlite:///{tmp_path / 'clinic.db'}"})
    assert made.returncode == 0, made.stderr
    url, proc = start_server(tmp_path)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def sign_in(page, url, username, password):
    page.goto(url)
    idle(page)
    page.get_by_label("Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    idle(page)
    page.wait_for_selector(f"text=Signed in as {username}", timeout=30_000)


def answer_screen(page):
    for group in (0, 1):
        page.get_by_role("radiogroup").nth(group).get_by_text("No", exact=True).click()
        idle(page)


def test_remote_loop(browser, clinic_server):
    therapist = browser.new_page(viewport={"width": 1280, "height": 1000})
    sign_in(therapist, clinic_server, "drt", "therapist-pass")
    therapist.get_by_text("Add a patient").click()
    therapist.get_by_label("Patient's username").fill("pat")
    therapist.get_by_label("Name", exact=True).fill("Pat Doe")
    therapist.get_by_role("textbox", name="First password (give it to the patient)").fill("patient-pass")
    therapist.get_by_role("button", name="Add patient").click()
    idle(therapist)
    therapist.get_by_text("Prescribe an exercise").click()
    therapist.get_by_label("Thresholds (NAME=VALUE, comma separated, e.g. knee_bent_deg=125)").fill("knee_bent_deg=125")
    therapist.get_by_role("button", name="Save prescription").click()
    idle(therapist)
    therapist.wait_for_selector("text=Prescribed: Straight-leg raise, 3 sets × 10 reps", timeout=30_000)

    patient = browser.new_page(viewport={"width": 1280, "height": 1000})
    sign_in(patient, clinic_server, "pat", "patient-pass")
    answer_screen(patient)
    chosen = patient.locator('[data-testid="stSelectbox"]').first
    chosen.wait_for(timeout=30_000)
    text = chosen.evaluate("e => e.innerText + ' ' + [...e.querySelectorAll('input')].map(i => i.value).join(' ')")
    assert "Straight-leg raise: 3 sets × 10" in text, text  # the page follows the prescription
    patient.get_by_text("Review a recorded video", exact=True).click()
    idle(patient)
    patient.locator('input[type="file"]').set_input_files(str(clip("legraise_supine_dk2.mp4")))
    patient.wait_for_selector('[data-testid="stVideo"]', timeout=180_000)
    idle(patient)
    patient.get_by_text("Also keep my video").click()  # this one with its video, the live set without
    idle(patient)
    patient.get_by_role("button", name="Save session").click()
    patient.wait_for_selector("text=Your therapist can see it now", timeout=30_000)

    webrtc = live_until_reps(patient, 3, 90_000)
    webrtc.get_by_role("button", name="STOP").click()
    patient.wait_for_selector("text=Your set", timeout=30_000)
    idle(patient)
    patient.get_by_role("button", name="Save session").click()
    patient.wait_for_selector("text=Your therapist can see it now", timeout=30_000)

    sign_in(therapist, clinic_server, "drt", "therapist-pass")  # a fresh page: sign in again
    therapist.wait_for_selector("text=straight_leg_raise 2/7", timeout=30_000)  # adherence this week
    therapist.wait_for_selector("text=Trends", timeout=30_000)
    assert therapist.locator('[data-testid="stException"]').count() == 0
    therapist.wait_for_selector('[data-testid="stVegaLiteChart"]', timeout=30_000)  # the trend plots
    # the uploaded dk2 session: its labelled knee fault, shown as skeleton renders
    idle(therapist)
    chooser = therapist.locator('[data-testid="stSelectbox"]').filter(has_text="Session").locator("input")
    chooser.click()
    chooser.fill("upload")  # the selectbox filters its options as one types
    chooser.press("Enter")
    idle(therapist)
    therapist.wait_for_selector("text=Fault moments", timeout=60_000)  # dk2's knee_bent, as skeleton renders
    assert therapist.get_by_text("knee_bent").count() >= 1
    for label in ("Session (JSON)", "Landmarks (CSV)", "Printable report (HTML)", "Export this patient (JSON)"):
        assert therapist.get_by_role("button", name=label).count() == 1
    therapist.get_by_label("Note to the patient").fill("Well done. Keep the knees straighter on the way down.")
    therapist.get_by_role("button", name="Send note").click()
    therapist.wait_for_selector("text=Sent: the patient sees it on their page", timeout=30_000)

    sign_in(patient, clinic_server, "pat", "patient-pass")
    answer_screen(patient)
    patient.wait_for_selector("text=Keep the knees straighter on the way down", timeout=30_000)
