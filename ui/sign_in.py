"""The sidebar: sign in (patients, therapists, admins) or go on as a guest (nothing is saved).

A sign-in survives a reload: the clinic hands out a random token (`Clinic.start_session`, stored hashed) that the
browser keeps in a cookie; every run checks it again (`Clinic.resume`), so a sign-in ended elsewhere (sign out
everywhere, a password change, the account disabled, its expiry) ends here at the next click.

A clinic with an identity provider configures Streamlit's OIDC sign-in (`[auth]` in .streamlit/secrets.toml,
README): "Sign in with the clinic's account" (`st.login`) then finds the formcheck account whose username is the
provider's verified e-mail (`Clinic.login_verified_email`) and goes on as a password sign-in would."""

from __future__ import annotations

from datetime import datetime, timezone

import streamlit as st

from ui.common import clinic
from ui.page_actions import set_cookie
from ui.state import page_state, sign_out

COOKIE = "formcheck_sign_in"
ENDED = "Your sign-in has ended (it expired, or it was ended on another device): please sign in again."
NO_ACCOUNT = ("The clinic's sign-in worked, but no formcheck account goes with it (or its sign-ins were ended "
              "since): sign in at the clinic again, or ask the clinic for an account.")


def identity_provider() -> bool:
    """The clinic configured Streamlit's OIDC sign-in (`[auth]` in its secrets)."""
    try:
        return "auth" in st.secrets
    except Exception:  # Streamlit raises when there is no secrets file at all
        return False


def identity_sign_in():
    """The account of the identity the provider vouches for (`st.user`, after `st.login`), or None."""
    user = st.user
    issued = user.get("iat")
    if not user.get("email_verified") or not isinstance(issued, (int, float)):
        return None
    return clinic().login_verified_email(user.get("email"), datetime.fromtimestamp(issued, timezone.utc))


def _cookie_script(value: str, max_age_s: int) -> None:
    """Set (or with max_age_s 0, clear) the sign-in cookie. Streamlit has no HTTP response to set it on, so the
    page's JavaScript does: sent only to this site (SameSite=Strict), and over HTTPS only encrypted (Secure)."""
    set_cookie(f"{COOKIE}={value}; Path=/; Max-Age={max_age_s}; SameSite=Strict")


def signed_in():
    """The actor this browser session is signed in as (checked again every run), or None."""
    s = page_state()
    if s.token is not None:
        actor = clinic().resume(s.token)
        if actor is None:
            signed_out(ended=True)
        else:
            s.actor = actor  # as the account is now
        return page_state().actor
    if not s.cookie_tried:  # a reload or a new tab: the browser's cookie, if any
        s.cookie_tried = True
        token = st.context.cookies.get(COOKIE)
        if token:
            actor = clinic().resume(token)
            s.actor, s.token, s.ended = actor, token if actor else None, actor is None
    if s.token is None and not s.identity_tried and identity_provider() and st.user.is_logged_in:
        s.identity_tried = True  # once a browser session: signing out leaves st.user until st.logout
        actor = identity_sign_in()
        if actor is not None:
            begin(actor)
            s.ended = False
        s.identity_refused = actor is None
    return s.actor


def signed_out(ended: bool = False) -> None:
    """Forget this browser session's sign-in (and all its state); the browser's cookie is not tried again, nor
    the identity provider's sign-in (st.logout ends that one)."""
    sign_out()
    s = page_state()
    s.cookie_tried, s.identity_tried, s.ended = True, True, ended


def begin(actor) -> None:
    """A new sign-in for `actor` (after the password was checked): its token, kept by the browser."""
    s = page_state()
    s.actor, s.token = actor, clinic().start_session(actor, client=st.context.ip_address)


def password_form(actor, key: str) -> None:
    """Change one's own password: the current one, the new one twice. Every other sign-in of the account ends."""
    from formcheck.accounts import PASSWORD_GOOD
    from formcheck.errors import FormcheckError

    with st.form(key, clear_on_submit=True):
        old = st.text_input("Current password", type="password")
        new = st.text_input(f"New password (at least {PASSWORD_GOOD} characters, or a long phrase)", type="password")
        again = st.text_input("New password again", type="password")
        if st.form_submit_button("Change password"):
            if new != again:
                st.error("The two new passwords differ.")
                return
            try:
                begin(clinic().change_password(actor, old, new))
            except FormcheckError as exc:
                st.error(str(exc))
                return
            st.rerun()


def choose_password_page() -> None:
    """Shown instead of everything else while the password is one someone else chose (a first or reset one)."""
    st.header("Choose your own password")
    st.write("Your password was set by your therapist or the clinic. Choose one only you know to go on.")
    password_form(page_state().actor, "choose-password")


def sign_in_box():
    """The signed-in actor, or None (a guest); the sidebar shows who it is or the sign-in form."""
    from formcheck.accounts import SESSION_HOURS
    from formcheck.clinic import SIGN_IN_FAILED
    from formcheck.errors import FormcheckError

    actor = signed_in()
    s = page_state()
    with st.sidebar:
        if actor is not None:
            _cookie_script(s.token, SESSION_HOURS * 3600)
            st.write(f"Signed in as **{actor.username}** ({actor.role})")
            here = st.button("Sign out")
            everywhere = st.button("Sign out everywhere", help="End this account's sign-ins on every device")
            if here or everywhere:
                if everywhere:
                    clinic().sign_out_everywhere(actor)
                else:
                    clinic().end_session(s.token)
                signed_out()
                if identity_provider() and st.user.is_logged_in:
                    st.logout()  # the provider's sign-in in this browser ends too (a new page follows)
                else:
                    st.rerun()
            if not actor.must_change_password:
                with st.expander("Change password"):
                    password_form(actor, "change-password")
            return actor
        _cookie_script("", 0)  # a sign-in that ended (here or elsewhere): the browser forgets it
        if s.ended:
            st.info(ENDED)
        if identity_provider():
            if s.identity_refused:
                st.warning(NO_ACCOUNT)
            if st.button("Sign in with the clinic's account", type="primary"):
                if st.user.is_logged_in:  # refused above: sign in at the provider anew (another account)
                    st.logout()
                else:
                    st.login()
        st.subheader("Sign in")
        with st.form("sign-in"):
            username = st.text_input("Username")
            password = st.text_input("Password", type="password")
            if st.form_submit_button("Sign in"):
                try:  # failures are throttled per account and per browser address too
                    found = clinic().login(username, password, client=st.context.ip_address)
                except FormcheckError:
                    found = None
                if found is None:
                    st.error(SIGN_IN_FAILED)  # one message for every refusal: it tells an attacker nothing
                else:
                    begin(found)
                    s.ended = False
                    st.rerun()
        st.caption("Without signing in, nothing is saved.")
    return None
