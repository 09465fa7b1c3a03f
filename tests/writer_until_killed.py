"""Helper process for the crash test: stores sessions in a loop, printing each id once committed."""

import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from test_clinic import report_of  # noqa: E402

from formcheck.clinic import OPERATOR, Clinic  # noqa: E402
from formcheck.store import open_store  # noqa: E402

clinic = Clinic(open_store(sys.argv[1]))
clinic.create_user(OPERATOR, "t", "therapist-pw", "therapist")
clinic.create_user(clinic.login("t", "therapist-pw"), "p", "patient-pw", "patient")
patient = clinic.login("p", "patient-pw")
report, blob = report_of()
while True:
    session_id = clinic.save_session(patient, report, blob, "live", pain_before=1, pain_after=1)
    print(session_id, flush=True)
