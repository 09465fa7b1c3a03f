"""The safety rules on the page, in a real browser (Debian's Chromium, dk2's leg raises as the camera): every
question of `formcheck.safety.QUESTIONS` asked; a Yes to leg swelling blocks exercising (see a doctor); nerve
symptoms take the stretches off and keep the nerve glide; the live page's "Stop — tingling, numbness or sharp
pain" ends the set at once, takes the exercise off for the day and flags the therapist, who acknowledges the
flag on their page; an accepted progression step is the patient's "next step", and the balance variant picker
starts at the prescribed variant. One server for the module."""

import pytest
from playwright.sync_api import expect
from conftest import REPO
from test_browser import answer_screen, idle, start_server
from test_clinic import synthetic_report
from test_remote_loop import sign_in
from test_workout_page import IFRAME, start_workout

from formcheck import safety
from formcheck.exercises import CATALOGUE

pytestmark = pytest.mark.integration

THERAPIST = ("drt", "knees-and-hips-7")
PATIENT = ("pat", "raise-both-legs-42")  # prescribed the leg raise (dk2 is the camera)
BALANCER = ("bal", "stand-on-one-leg-3")  # prescribed single-leg balance, 3 sessions at target eyes open
COUNTER = ".st-key-workout-counter [data-testid=stMetricValue]"


class World:
    def __init__(self, url, clinic, therapist, patient, balancer):
        self.url, self.clinic, self.therapist, self.patient, self.balancer = url, clinic, therapist, patient, balancer


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from formcheck.clinic import OPERATOR, Clinic
    from formcheck.store import open_store

    work = tmp_path_factory.mktemp("safety")
    clinic = Clinic(open_store(f"sqlite:///{work / 'clinic.db'}"))
    clinic.create_user(OPERATOR, *THERAPIST, "therapist", "Dr T")
    therapist = clinic.login(*THERAPIST)
    patient = clinic.create_user(OPERATOR, *PATIENT, "patient", "Pat", therapist_id=therapist.id)
    clinic.prescribe(therapist, patient, "straight_leg_raise", sets=3, reps=10, per_week=7)
    balancer = clinic.create_user(OPERATOR, *BALANCER, "patient", "Bal", therapist_id=therapist.id)
    clinic.prescribe(therapist, balancer, "single_leg_balance")  # K ex. 2: eyes open first
    bal = clinic.login(*BALANCER)
    for _ in range(3):  # at target (a 46-s best stance of a 45-s hold), no faults, pain not up: eyes closed next
        clinic.save_session(bal, synthetic_report("single_leg_balance", holds=((46.0, 46.0),)), b"", "live",
                            pain_before=2, pain_after=2, variant="eyes_open")
    url, proc = start_server(work)
    yield World(url, clinic, therapist, patient, balancer)
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture()
def page(browser):
    return browser.new_page(viewport={"width": 1280, "height": 900})


answer = answer_screen  # every question: Yes for the keys given, else No


def options(page, label: str) -> list[str]:
    """The options of the select box labelled `label` (opened, read, closed)."""
    idle(page)
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first.locator('[role="combobox"]')
    for _ in range(3):  # a click during a rerun can be lost
        box.click()
        try:
            page.get_by_role("option").first.wait_for(timeout=10_000)
            break
        except Exception:
            idle(page)
    texts = [t.strip() for t in page.get_by_role("option").all_inner_texts()]
    page.keyboard.press("Escape")
    return texts


def alerts(page, kind: str) -> str:
    return "\n".join(page.locator(f'[data-testid="stAlertContent{kind}"]').all_inner_texts())


def test_every_question_is_asked_and_a_yes_to_leg_swelling_blocks_exercising(page, world):
    page.goto(world.url)
    idle(page)
    page.locator(".st-key-safety-screen").get_by_role("radiogroup").first.wait_for(timeout=60_000)
    for question in safety.QUESTIONS.values():
        assert page.get_by_text(question, exact=True).count() == 1
    answer(page, {"leg_swelling"})
    error = alerts(page, "Error")
    assert "Do not exercise" in error and "see a doctor as soon as possible" in error, error
    assert "source: K, Thrombosis" in error  # the advice cites the article
    assert page.locator('[data-testid="stSelectbox"]').count() == 0  # no exercise on offer
    assert page.locator(IFRAME).count() == 0  # and no camera
    assert page.locator('[data-testid="stException"]').count() == 0


def test_nerve_symptoms_take_the_stretches_off_and_keep_the_nerve_glide(page, world):
    page.goto(world.url)
    idle(page)
    answer(page, {"nerve_symptoms"})
    warning = alerts(page, "Warning")
    assert "no stretching today" in warning and "Consult a professional" in warning, warning
    offered = options(page, "Exercise")
    assert CATALOGUE["sciatic_nerve_glide"].title in offered, offered
    assert not {CATALOGUE[n].title for n in safety.STRETCHES} & set(offered), offered
    assert set(offered) == {CATALOGUE[n].title for n in CATALOGUE if n not in safety.STRETCH_SET}
    assert page.get_by_text("Safety questions answered: Yes to nerve symptoms", exact=False).count() >= 1


def test_the_stop_button_ends_the_set_takes_the_exercise_off_and_flags_the_therapist(page, world):
    sign_in(page, world.url, *PATIENT)
    answer(page)
    page.wait_for_function(f"() => document.querySelector('{COUNTER}')?.innerText.trim() === '0 / 10'",
                           timeout=60_000)  # the prescription's leg raise, its coach under way
    assert page.locator(".st-key-workout-stop").count() == 0  # only while a workout runs
    page.get_by_text("Before you start: warm-up, breathing").click()  # the articles' general advice
    assert page.get_by_text("knee brace", exact=False).count() >= 1
    assert page.get_by_text("foam roller", exact=False).count() >= 1
    start_workout(page)
    page.wait_for_function(f"() => parseInt(document.querySelector('{COUNTER}')?.innerText) >= 1",
                           timeout=120_000)  # counting: a set under way
    stop = page.locator(".st-key-workout-stop button")
    page.screenshot(path=str(REPO / ".pytest_cache" / "safety-stop-button.png"))
    assert safety.STOP_BUTTON in stop.inner_text()
    assert stop.bounding_box()["height"] >= 60  # large
    stop.click()
    page.wait_for_selector("text=You stopped the set", timeout=60_000)
    page.wait_for_selector("text=Your sets", timeout=30_000)  # the set ended: its table
    idle(page)
    page.screenshot(path=str(REPO / ".pytest_cache" / "safety-stop.png"), full_page=True)
    stopped = alerts(page, "Error")
    assert "consult a professional" in stopped and "off for today" in stopped, stopped
    assert page.locator(".st-key-workout-summary table tbody tr").count() >= 1  # the table of sets
    page.frame_locator(IFRAME).get_by_role("button", name="START").wait_for(timeout=30_000)  # the camera is off
    assert page.locator(".st-key-workout-stop").count() == 0
    assert "Not offered today: " in alerts(page, "Warning")
    offered = options(page, "Exercise")
    assert CATALOGUE["straight_leg_raise"].title not in offered, offered
    assert CATALOGUE["single_leg_balance"].title in offered
    flags = world.clinic.open_flags(world.therapist, world.patient)
    assert [f["kind"] for f in flags] == ["stop"] and "Straight-leg raise" in flags[0]["text"], flags
    page.get_by_role("button", name="Save session").click()  # the stopped set, kept with its stop
    page.wait_for_selector("text=Your therapist can see it now", timeout=30_000)
    [stop_row] = world.clinic.stops(world.therapist, world.patient)
    assert stop_row["exercise"] == "straight_leg_raise" and stop_row["session_id"] is not None
    assert world.clinic.sessions(world.therapist, world.patient)[-1]["id"] == stop_row["session_id"]
    assert page.locator('[data-testid="stException"]').count() == 0


def test_the_therapist_acknowledges_each_flag_and_it_disappears(page, world):
    pat = world.clinic.login(*PATIENT)
    world.clinic.stop_during_set(pat, "calf_stretch", "tingling")  # a flag of its own, whatever ran before
    flags = world.clinic.open_flags(world.therapist, world.patient)
    sign_in(page, world.url, *THERAPIST)
    page.wait_for_selector(f"text=Flags ({len(flags)})", timeout=30_000)
    assert "stopped Calf stretch at a wall during a set: tingling" in alerts(page, "Warning")
    for n in range(len(flags), 0, -1):
        buttons = page.get_by_role("button", name="Acknowledge")
        expect(buttons).to_have_count(n, timeout=30_000)  # the header is redrawn before the old buttons go
        buttons.first.click()
        idle(page)
        page.wait_for_selector(f"text=Flags ({n - 1})", timeout=30_000)
    assert page.get_by_text("No open flags.").count() == 1
    assert world.clinic.open_flags(world.therapist, world.patient) == []
    assert len(world.clinic.acknowledged_flags(world.therapist, world.patient)) == len(flags)


def test_an_accepted_step_is_the_patients_next_step_and_the_variant_starts_there(page, world, browser):
    sign_in(page, world.url, *THERAPIST)
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Patient").locator('[role="combobox"]').click()
    page.get_by_role("option", name="Bal (bal)").click()
    idle(page)
    page.wait_for_selector("text=Suggested next steps", timeout=30_000)
    assert page.get_by_text("Single-leg balance: eyes closed (now eyes open)", exact=False).count() == 1
    page.get_by_role("button", name="Accept").click()
    idle(page)
    # gone once the rerun has drawn the page again (a check straight after idle could see the last drawing)
    page.get_by_text("Suggested next steps").wait_for(state="detached", timeout=60_000)
    [current] = world.clinic.prescriptions(world.therapist, world.balancer)
    assert current["variant"] == "eyes_closed"

    patient = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(patient, world.url, *BALANCER)
    answer(patient)
    patient.wait_for_selector("text=Next step: Single-leg balance: eyes closed", timeout=30_000)
    variant = patient.locator('[data-testid="stRadio"]').filter(has_text="Variant")
    assert variant.get_by_role("radio", name="Eyes closed").is_checked()
    assert [t.strip() for t in variant.locator("label").all_inner_texts()][-3:] == [
        "Eyes open", "Eyes closed", "On a balance cushion"]
    assert patient.locator('[data-testid="stException"]').count() == 0
