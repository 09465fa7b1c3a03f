"""Accounts on the page, in a real browser: a sign-in survives a reload and ends everywhere at once; an admin
manages accounts (and sees no clinical data); a first password is replaced before anything else; the server's
limits on live coaches and analyses answer "busy"."""

import os
import subprocess
import sys

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from conftest import REPO
from test_browser import answer_screen, free_port, idle, review_mode, start_server
from test_remote_loop import add_patient, choose_password, sign_in, submit_sign_in

pytestmark = pytest.mark.integration

ADMIN = ("ada", "keys-to-the-clinic-1")
THERAPIST = ("drt", "knees-and-hips-7")


def create_user(workdir, username, password, role):
    made = subprocess.run([sys.executable, "-m", "formcheck.cli", "admin", "create-user", username, "--role", role,
                           "--password-stdin"], input=password + "\n", capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "FORMCHECK_DB_URL": f"sqlite:///{workdir / 'clinic.db'}"})
    assert made.returncode == 0, made.stderr


@pytest.fixture()
def clinic_server(tmp_path):
    create_user(tmp_path, *ADMIN, "admin")
    create_user(tmp_path, *THERAPIST, "therapist")
    url, proc = start_server(tmp_path)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def new_page(browser):
    return browser.new_page(viewport={"width": 1280, "height": 1000})  # a context of its own: its own cookies


def refused_sign_in(page, url, username, password):
    submit_sign_in(page, url, username, password)
    page.wait_for_selector("text=Sign-in failed", timeout=30_000)


def signed_in_as(page, username):
    return page.get_by_text(f"Signed in as {username}").count() > 0


def next_action_finds_the_sign_in_ended(page):
    """The therapist's page sends a form; that run finds its sign-in ended. A click made while the page was
    still running can be lost (a loaded CI machine), so the form is sent again until the page answers."""
    ended = page.get_by_text("Your sign-in has ended")
    send = page.get_by_role("button", name="Add patient")
    for _ in range(3):
        if not send.is_visible():
            page.get_by_text("Add a patient").click()
        send.click(timeout=30_000)
        idle(page)
        try:
            ended.wait_for(timeout=20_000)
            return
        except PlaywrightTimeout:
            if ended.count() or not send.count():
                break
    assert ended.count() == 1, "the page never said the sign-in had ended"


def test_sign_in_survives_a_reload_and_signing_out_everywhere_ends_every_device(browser, clinic_server):
    laptop, phone = new_page(browser), new_page(browser)
    sign_in(laptop, clinic_server, *THERAPIST)
    sign_in(phone, clinic_server, *THERAPIST)
    laptop.wait_for_selector("text=Your patients")
    cookies = {c["name"]: c for c in laptop.context.cookies()}
    assert cookies["formcheck_sign_in"]["sameSite"] == "Strict"
    assert THERAPIST[1] not in cookies["formcheck_sign_in"]["value"]

    laptop.reload()
    idle(laptop)
    laptop.wait_for_selector(f"text=Signed in as {THERAPIST[0]}", timeout=30_000)
    laptop.wait_for_selector("text=Your patients")

    laptop.get_by_role("button", name="Sign out everywhere").click()
    idle(laptop)
    laptop.wait_for_selector("text=Without signing in, nothing is saved.", timeout=30_000)
    laptop.reload()
    idle(laptop)
    assert not signed_in_as(laptop, THERAPIST[0])
    assert laptop.get_by_role("button", name="Sign in").count() == 1

    next_action_finds_the_sign_in_ended(phone)
    assert not signed_in_as(phone, THERAPIST[0])
    phone.reload()
    idle(phone)
    assert not signed_in_as(phone, THERAPIST[0])
    assert phone.get_by_text("Your sign-in has ended").count() == 0  # said once; the browser forgot the cookie

    sign_in(laptop, clinic_server, *THERAPIST)  # plain "Sign out" ends this browser's sign-in only
    laptop.get_by_role("button", name="Sign out", exact=True).click()
    idle(laptop)
    laptop.reload()
    idle(laptop)
    assert not signed_in_as(laptop, THERAPIST[0])
    assert laptop.locator('[data-testid="stException"]').count() == 0


def test_admin_manages_accounts_and_a_first_password_is_replaced(browser, clinic_server):
    admin = new_page(browser)
    sign_in(admin, clinic_server, *ADMIN)
    admin.wait_for_selector("text=Accounts")
    assert admin.get_by_text("Your patients").count() == 0  # no clinical page for an admin

    admin.get_by_text("Add a therapist or an admin").click()
    admin.get_by_label("Username").last.fill("drn")
    admin.get_by_label("Name", exact=True).fill("Dr N")
    admin.get_by_role("textbox", name="First password").fill("first-one-from-ada-3")
    admin.get_by_role("button", name="Add account").click()
    idle(admin)
    admin.wait_for_selector("text=Added Dr N (therapist).", timeout=30_000)

    new = new_page(browser)  # the new therapist must choose a password before seeing patients
    sign_in(new, clinic_server, "drn", "first-one-from-ada-3")
    new.wait_for_selector("text=Choose your own password", timeout=30_000)
    assert new.get_by_text("Your patients").count() == 0
    choose_password(new, "first-one-from-ada-3", "Dr-N-own-choice-55")
    new.wait_for_selector("text=Your patients", timeout=30_000)

    stranger = new_page(browser)  # a wrong password: refused, and the admin sees it
    refused_sign_in(stranger, clinic_server, "drn", "guessing-wrongly-00")

    admin.reload()
    idle(admin)
    admin.wait_for_selector("text=Refused sign-ins")
    refused = admin.get_by_test_id("stTable").last.inner_text()
    assert "drn" in refused and "wrong password" in refused

    def disable(username: str) -> None:  # awaited until the accounts table says so: a rerun can start late
        admin.get_by_role("button", name="Disable this account").click()
        row = admin.get_by_test_id("stTable").first.get_by_role("row").filter(has_text=username)
        expect(row).to_contain_text("yes", timeout=30_000)
        idle(admin)

    disable("drt")  # the first other account
    admin.locator('[data-testid="stSelectbox"]').first.click()
    admin.get_by_role("option", name="Dr N (drn, therapist)").click()
    idle(admin)
    disable("drn")
    new.get_by_text("Add a patient").click()  # Dr N's open page: signed out at the next action
    new.get_by_role("button", name="Add patient").click()
    idle(new)
    new.wait_for_selector("text=Your sign-in has ended", timeout=30_000)
    sign_in_refused = new_page(browser)
    refused_sign_in(sign_in_refused, clinic_server, "drn", "Dr-N-own-choice-55")
    for page in (admin, new, stranger, sign_in_refused):
        assert page.locator('[data-testid="stException"]').count() == 0


def test_busy_server_says_so(browser, tmp_path):
    """One live coach and no analysis allowed: the second patient's camera and any review answer "busy"; the
    first patient's place comes back when they leave the live workout."""
    url, proc = start_server(tmp_path, {"FORMCHECK_MAX_LIVE": "1", "FORMCHECK_MAX_ANALYSES": "0"})
    try:
        first, second = new_page(browser), new_page(browser)
        for page in (first, second):
            page.goto(url)
            idle(page)
            answer_screen(page)
            idle(page)
        first.wait_for_selector("text=How to do it", timeout=60_000)
        assert first.get_by_text("The server is busy").count() == 0
        second.wait_for_selector("text=The server is busy, try again in a minute.", timeout=60_000)
        assert second.get_by_text("How to do it").count() == 0

        review_mode(second)
        second.get_by_role("button", name="Try the sample").click()
        idle(second)
        second.wait_for_selector("text=The server is busy, try again in a minute. (analyses: all in use)",
                                 timeout=60_000)

        review_mode(first)  # the first leaves the live workout ...
        second.get_by_text("Exercise live").click()  # ... and the second's camera comes up
        idle(second)
        second.wait_for_selector("text=How to do it", timeout=60_000)
        assert second.get_by_text("The server is busy").count() == 0
        for page in (first, second):
            assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_sign_in_through_the_clinic_identity_provider(browser, tmp_path):
    """Streamlit's OIDC sign-in against a real OpenID provider on loopback: the provider's verified e-mail finds
    the formcheck account (its role and patients are formcheck's); an identity without an account is refused;
    the sign-in survives a reload and signing out ends the provider's sign-in in that browser too."""
    import secrets

    import oidc_provider_mock

    lee = "dr.lee@clinic.example"
    claims = [oidc_provider_mock.User(sub=email, claims={"email": email, "email_verified": True})
              for email in (lee, "nobody@clinic.example")]
    create_user(tmp_path, lee, "doctor lee's passphrase", "therapist")
    port = free_port()
    with oidc_provider_mock.run_server_in_thread(user_claims=claims) as idp:
        provider = f"http://localhost:{idp.server_port}"
        (tmp_path / "secrets.toml").write_text(
            f'[auth]\nredirect_uri = "http://localhost:{port}/oauth2callback"\n'
            f'cookie_secret = "{secrets.token_hex(32)}"\nclient_id = "formcheck"\nclient_secret = "test-secret"\n'
            f'server_metadata_url = "http://localhost:{idp.server_port}/.well-known/openid-configuration"\n')
        url, proc = start_server(tmp_path, {"STREAMLIT_SECRETS_FILES": str(tmp_path / "secrets.toml")}, port=port)
        try:
            page = new_page(browser)

            def at_the_provider(who):
                page.goto(url)
                idle(page)
                page.get_by_role("button", name="Sign in with the clinic's account").click()
                page.get_by_role("button", name=who).click(timeout=30_000)  # the provider's form
                page.wait_for_url(f"{url}/**", timeout=30_000)
                idle(page)

            def signed_out_at_the_provider(button):
                """st.logout: the provider's end-session page (confirmed there), then back to the app."""
                with page.expect_navigation(timeout=30_000):
                    page.get_by_role("button", name=button, exact=True).click()
                if page.url.startswith(provider):
                    page.get_by_role("button", name="End session").click()
                page.wait_for_url(f"{url}/**", timeout=30_000)
                idle(page)

            at_the_provider("nobody@clinic.example")
            page.wait_for_selector("text=no formcheck account goes with it", timeout=30_000)
            assert not signed_in_as(page, "nobody@clinic.example")
            signed_out_at_the_provider("Sign in with the clinic's account")  # a refused identity: ended first

            at_the_provider(lee)
            page.wait_for_selector(f"text=Signed in as {lee}", timeout=30_000)
            page.wait_for_selector("text=Your patients")
            page.reload()
            idle(page)
            page.wait_for_selector(f"text=Signed in as {lee}", timeout=30_000)

            signed_out_at_the_provider("Sign out")
            page.goto(url)
            idle(page)
            page.get_by_role("button", name="Sign in with the clinic's account").wait_for(timeout=30_000)
            assert not signed_in_as(page, lee)
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def test_therapist_gives_a_new_password_and_disables_a_patients_account(browser, clinic_server):
    """The therapist's "Patient's account": a new password the patient must replace at sign-in; the account
    disabled (its open page signed out at its next action, its sign-in refused) and enabled again."""
    drt = new_page(browser)
    sign_in(drt, clinic_server, *THERAPIST)
    add_patient(drt, "pat", "Pat Doe", "first-from-drt-42")
    drt.wait_for_selector("text=Added Pat Doe.", timeout=30_000)

    pat = new_page(browser)
    sign_in(pat, clinic_server, "pat", "first-from-drt-42", new_password="pats-own-choice-77")
    drt.get_by_text("Patient's account", exact=True).click()
    drt.get_by_role("textbox", name="New password (give it to the patient)").fill("forgot-it-again-13")
    drt.get_by_role("button", name="Set new password").click()
    idle(drt)
    drt.wait_for_selector("text=New password set: the patient chooses their own at next sign-in.", timeout=30_000)
    refused_sign_in(new_page(browser), clinic_server, "pat", "pats-own-choice-77")  # the old one no longer works
    forgot = new_page(browser)
    sign_in(forgot, clinic_server, "pat", "forgot-it-again-13", new_password="pats-second-choice-78")

    drt.get_by_role("button", name="Disable this account").click()
    idle(drt)
    drt.wait_for_selector("text=Patient's account (disabled)", timeout=30_000)
    forgot.reload()  # the patient's open page: signed out
    idle(forgot)
    assert not signed_in_as(forgot, "pat")
    refused_sign_in(new_page(browser), clinic_server, "pat", "pats-second-choice-78")

    drt.get_by_text("Patient's account (disabled)").click()
    drt.get_by_role("button", name="Enable this account").click()
    idle(drt)
    expect(drt.get_by_text("Patient's account (disabled)")).to_have_count(0, timeout=30_000)  # until the rerun
    drt.wait_for_selector("text=Patient's account", state="attached", timeout=30_000)
    sign_in(new_page(browser), clinic_server, "pat", "pats-second-choice-78")
    for page in (drt, pat, forgot):
        assert page.locator('[data-testid="stException"]').count() == 0
