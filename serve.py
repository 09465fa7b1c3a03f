"""The server for the page: app.py on Streamlit's own server (st.App), with formcheck's routes (the landmark
socket, the browser's pose runtime and model) and the Content-Security-Policy on every response.

`streamlit run serve.py` (Streamlit finds the `app` object itself). Served as plain `streamlit run app.py`, the
page has neither the socket nor the policy, and formcheck.web.csp.installed() tells the page so.
"""

import streamlit as st
from starlette.middleware import Middleware

from formcheck.web.csp import CSPMiddleware
from formcheck.web.routes import routes

app = st.App("app.py", routes=routes(), middleware=[Middleware(CSPMiddleware)])
