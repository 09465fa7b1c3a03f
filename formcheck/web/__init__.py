"""The landmark path of the live page: the patient's browser runs the pose model and sends landmarks, the server's
checkers judge them (formcheck/live.py, LandmarkCoach). Pure parts, no Streamlit or sockets: `wire` (the frame
message and the reply) and `gate` (one stream's rules across frames). On the server: `channel` (the tokens and
the socket), `routes` (the socket, the browser's runtime and model, on Streamlit's server) and `csp` (the policy
that keeps the page to its own origin). In the browser: `static/live.js` (camera, overlay, socket, counter, spoken
cues) and `static/pose_worker.js` (the model), mounted by ui/live_browser.py."""
