"""The therapist's remote loop in a real browser, end to end, on a fresh clinic database:
therapist creates a patient and a prescription → patient signs in, answers the screen, uploads a real clip
and does a live set with a clip as the camera → therapist sees the sessions, trends and faults and leaves a
note → the patient sees the note."""

import subprocess
import sys

import pytest

from conftest import REPO, clip
from test_browser import answer_screen, idle, live_until_reps, review_mode, start_server

pytestmark = pytest.mark.integration
PATIENT_OWN = "my-own-knee-password-4"  # the password the patient chooses at first sign-in


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


def sign_in(page, url, username, password, new_password=None):
    """Sign in on a fresh page. A first (or reset) password, chosen by someone else, must be replaced before
    anything else shows: `new_password` is chosen on the page that asks for it."""
    submit_sign_in(page, url, username, password)
    page.wait_for_selector(f"text=Signed in as {username}", timeout=30_000)
    if new_password is not None:
        choose_password(page, password, new_password)


def submit_sign_in(page, url, username, password):
    """The sidebar's sign-in form filled and sent on a fresh load of the page."""
    page.goto(url)
    idle(page)
    page.get_by_label("Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    idle(page)


def reopen(page, url, username):
    """The page opened again in the same browser: still signed in (the sign-in's cookie), no password asked."""
    page.goto(url)
    idle(page)
    page.wait_for_selector(f"text=Signed in as {username}", timeout=30_000)


def choose_password(page, old, new):
    """The page that asks for one's own password: the current one, the new one twice."""
    page.wait_for_selector("text=Choose your own password", timeout=30_000)
    fields = page.get_by_test_id("stMain").locator('input[type="password"]')
    for i, value in enumerate((old, new, new)):
        fields.nth(i).fill(value)
    page.get_by_test_id("stMain").get_by_role("button", name="Change password").click()
    idle(page)
    page.wait_for_selector("text=Choose your own password", state="detached", timeout=30_000)


def add_patient(page, username, name, password):
    """The therapist's "Add a patient" form filled and sent: the patient's first password, set by the therapist.
    A form sent while the page is still running can be lost (a loaded CI machine), so it is sent again until
    the page says the patient was added."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    added = page.get_by_text(f"Added {name}.")
    send = page.get_by_role("button", name="Add patient")
    idle(page)
    for _ in range(3):
        if not send.is_visible():
            page.get_by_text("Add a patient").click()
        page.get_by_label("Patient's username").fill(username)
        page.get_by_label("Name", exact=True).fill(name)
        page.get_by_role("textbox", name="First password (give it to the patient)").fill(password)
        send.click()
        idle(page)
        try:
            added.wait_for(timeout=20_000)
            return
        except PlaywrightTimeout:
            if page.get_by_text(f"{name} ({username})").count():  # added, and the page has moved on
                return
    assert added.count() == 1, f"the page never said {name} was added"


def test_remote_loop(browser, clinic_server):
    therapist = browser.new_page(viewport={"width": 1280, "height": 1000})
    sign_in(therapist, clinic_server, "drt", "therapist-pass")
    add_patient(therapist, "pat", "Pat Doe", "bend-the-other-knee-9")
    therapist.get_by_text("Prescribe an exercise").click()
    therapist.get_by_label("Thresholds (NAME=VALUE, comma separated, e.g. knee_bent_deg=125)").fill("knee_bent_deg=125")
    therapist.get_by_role("button", name="Save prescription").click()
    idle(therapist)
    therapist.wait_for_selector("text=Prescribed: Straight-leg raise, 3 sets × 10 reps", timeout=30_000)

    patient = browser.new_page(viewport={"width": 1280, "height": 1000})
    sign_in(patient, clinic_server, "pat", "bend-the-other-knee-9", new_password=PATIENT_OWN)
    answer_screen(patient)
    chosen = patient.locator('[data-testid="stSelectbox"]').first
    chosen.wait_for(timeout=30_000)
    text = chosen.evaluate("e => e.innerText + ' ' + [...e.querySelectorAll('input')].map(i => i.value).join(' ')")
    assert "Straight-leg raise: 3 sets × 10" in text, text  # the page follows the prescription
    review_mode(patient)
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

    reopen(therapist, clinic_server, "drt")
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
    therapist.get_by_label("Note to the patient").fill("Well done. Keep the knees straighter on the way down. "
                                                      "[more](http://example.org/x) ![pic](http://example.org/p.png)")
    therapist.get_by_role("button", name="Send note").click()
    therapist.wait_for_selector("text=Sent: the patient sees it on their page", timeout=30_000)

    reopen(patient, clinic_server, "pat")
    answer_screen(patient)
    patient.wait_for_selector("text=Keep the knees straighter on the way down", timeout=30_000)
    # shown as plain text, with its author: Markdown in a stored note makes no link and loads no image
    assert patient.get_by_text("[more](http://example.org/x)", exact=False).count() == 1
    assert patient.locator('a[href^="http://example.org"], img[src^="http://example.org"]').count() == 0
    assert patient.get_by_text("Note from Dr T (therapist)", exact=False).count() >= 1
    # and the patient sees who has read their data (the access log): the therapist, opening the session
    patient.get_by_text("Who has seen my data", exact=False).click()
    patient.locator('[data-testid="stTable"]').get_by_text("Dr T (therapist)").first.wait_for(timeout=30_000)
