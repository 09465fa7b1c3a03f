"""The admin's page: accounts, not care. Create therapists and admins, disable or enable any account, set a new
password for a therapist or an admin, move a patient to another therapist, and see refused sign-ins and the
names and addresses locked now. No clinical data is shown here (the clinic refuses it to an admin)."""

from __future__ import annotations

import streamlit as st

from ui.common import account_controls, clinic
from ui.state import page_state


def when(t) -> str:
    return f"{t:%Y-%m-%d %H:%M} UTC" if t is not None else ""


def new_account_form(actor) -> None:
    from formcheck.errors import FormcheckError

    with st.expander("Add a therapist or an admin"), st.form("new-account", clear_on_submit=True):
        role = st.radio("Role", ["therapist", "admin"], horizontal=True)
        username = st.text_input("Username")
        name = st.text_input("Name")
        password = st.text_input("First password (they choose their own at first sign-in)", type="password")
        if st.form_submit_button("Add account"):
            try:
                clinic().create_user(actor, username, password, role, name)
                st.success(f"Added {name or username} ({role}).")
            except FormcheckError as exc:
                st.error(str(exc))


def account_actions(actor, account: dict, therapists: list[dict]) -> None:
    """What an admin may do to one account: disable/enable, a new password (not a patient's: it would open
    their clinical data), another therapist for a patient."""
    from formcheck.errors import FormcheckError

    uid = account["id"]
    account_controls(actor, uid, account["disabled"],
                     None if account["role"] == "patient" else "New password (they choose their own at next sign-in)",
                     "New password set: every sign-in of this account has ended.")
    others = [t for t in therapists if t["id"] != account["therapist_id"] and not t["disabled"]]
    if account["role"] == "patient" and others:
        with st.form(f"move-{uid}"):
            to = st.selectbox("Move to therapist", others, format_func=lambda t: f"{t['name']} ({t['username']})")
            if st.form_submit_button("Move patient"):
                try:
                    clinic().assign_therapist(actor, uid, to["id"])
                    st.success(f"Moved to {to['name']}.")
                except FormcheckError as exc:
                    st.error(str(exc))


def page() -> None:
    actor = page_state().actor
    c = clinic()
    st.header("Accounts")
    new_account_form(actor)
    accounts = c.accounts(actor)
    names = {a["id"]: a["name"] for a in accounts}
    st.table([{"username": a["username"], "name": a["name"], "role": a["role"],
               "therapist": names.get(a["therapist_id"], ""), "disabled": "yes" if a["disabled"] else "",
               "locked until": when(a["locked_until"])} for a in accounts], hide_index=True)
    others = [a for a in accounts if a["id"] != actor.id]
    if others:
        chosen = st.selectbox("Account", others, format_func=lambda a: f"{a['name']} ({a['username']}, {a['role']}"
                              + (", disabled" if a["disabled"] else "") + ")")
        account_actions(actor, chosen, [a for a in accounts if a["role"] == "therapist"])
    st.subheader("Locked now")
    locks = c.sign_in_locks(actor)
    if locks:
        st.table([{**lock, "locked_until": when(lock["locked_until"])} for lock in locks], hide_index=True)
    else:
        st.caption("No account or address is locked.")
    st.subheader("Refused sign-ins")
    failures = c.sign_in_failures(actor, limit=100)
    if failures:
        st.table([{"at": when(f["at"]), "username tried": f["username"], "client": f["client"] or "",
                   "why": f["reason"].replace("_", " ")} for f in failures], hide_index=True)
    else:
        st.caption("None yet.")
