"""formcheck's page: a thin router. Everything it judges comes from the `formcheck` package; the page's parts
are the modules of `ui/` (see ui/__init__.py), one per page or section:

    ui/exercise.py    patients and guests: safety screen (ui/screen.py) → exercise → live workout (ui/live.py)
                      or a recorded video's review (ui/review.py); their sessions and notes
    ui/therapist.py   therapists: patients, prescriptions, trends, sessions
    ui/admin.py       admins: accounts (no clinical data), refused sign-ins
    ui/sign_in.py     the sidebar's sign-in (and choosing one's own password);  ui/state.py the typed session
                      state;  ui/common.py shared parts

Run it with `scripts/app` (`--https` for a phone on the same network).
"""

from __future__ import annotations

import importlib
import logging
import os

import streamlit as st
from streamlit.errors import FragmentHandledException

from formcheck.files import remove_orphaned_scratch
from ui import admin, exercise, therapist
from ui.common import style
from ui.sign_in import choose_password_page, sign_in_box

log = logging.getLogger("formcheck.app")


@st.cache_resource
def modules_loaded() -> None:
    """Once per server, at its first page: what the live and review pages import later (~2 s of CPU).
    Imported when an upload's result first came in, they held the interpreter lock that the live sets'
    video needed, and every live page fell behind for seconds (tests/test_several_patients.py)."""
    for module in ("pandas", "pyarrow", "streamlit_webrtc", "formcheck.coach_process", "formcheck.review",
                   "formcheck.replay"):
        importlib.import_module(module)  # pandas and pyarrow: st.dataframe's


@st.cache_resource
def orphaned_scratch_removed() -> int:
    """Once per server: a server killed mid-upload left the patient's raw clip in its scratch folder."""
    return len(remove_orphaned_scratch())


st.set_page_config(page_title="formcheck", page_icon="🦵", layout="wide")
style()
st.title("formcheck")
st.caption("Exercise form feedback for your physiotherapy home programme. Coaching-grade angles from one "
           "camera, not a diagnosis. **Never stretch into sharp pain.**")
orphaned_scratch_removed()
modules_loaded()
actor = sign_in_box()
if actor is not None and actor.must_change_password:  # a first or reset password: nothing else until changed
    pages = [st.Page(choose_password_page, title="Choose your password", icon="🔑", url_path="password", default=True)]
elif actor is not None and actor.role == "therapist":
    pages = [st.Page(therapist.page, title="Your patients", icon="🩺", url_path="patients", default=True)]
elif actor is not None and actor.role == "admin":
    pages = [st.Page(admin.page, title="Accounts", icon="🔐", url_path="accounts", default=True)]
else:
    pages = [st.Page(exercise.page, title="Exercise", icon="🦵", url_path="exercise", default=True)]
current = st.navigation(pages, position="hidden" if len(pages) == 1 else "sidebar")
try:
    current.run()
except FragmentHandledException:
    raise
except Exception:  # a clear message, never a traceback in the browser (the server's log has it)
    if os.environ.get("FORMCHECK_DEBUG"):  # the tests: Streamlit shows it (without details) and they fail on it
        raise
    log.exception("the page failed")
    st.error("Something went wrong on this page. Nothing you saved is lost: reload the page to go on. "
             "If it happens again, tell your therapist or the clinic.")
