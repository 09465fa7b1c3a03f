"""The landmark path of the live page: the patient's browser runs the pose model and sends landmarks, the server's
checkers judge them (formcheck/live.py, LandmarkCoach). No Streamlit or sockets in this package's pure parts:
`wire` (the frame message and the reply) and `gate` (one stream's rules across frames)."""
