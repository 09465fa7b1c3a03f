"""formcheck's page, one module per part: Streamlit code lives here and in app.py (the router), never in the
`formcheck` library, which the page only lays out.

    state.py      the page's typed session state (PageState) and the keys of the widgets other parts read
    common.py     the clinic service, the rep/hold tables, saving a session, the page's styles
    sign_in.py    the sidebar: sign in (kept across reloads by a cookie) or go on as a guest; own password
    screen.py     the safety screen (collapsed to one line once answered)
    exercise.py   the patient's (or guest's) page: screen → exercise → live workout or review; my sessions
    live.py       the live workout: camera + overlay, counter, sets, rest, the table of sets at STOP; where the
                  pose is found (the browser or, over WebRTC, the server)
    live_browser.py  the live workout with the pose model in the patient's browser (formcheck/web)
    page_actions.py  speaking, scrolling and the sign-in cookie, without inline scripts (the page's CSP)
    review.py     a recorded video's review (an upload or the sample clip)
    therapist.py  the therapist's page: patients, prescriptions, trends, sessions, notes, patients' accounts
    admin.py      the admin's page: accounts, refused sign-ins, locks (no clinical data)
"""
