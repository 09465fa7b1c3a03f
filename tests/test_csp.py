"""The Content-Security-Policy on every response (formcheck/web/csp.py): this origin only, and the hash of the
installed Streamlit's inline script, so the page runs and nothing loads or leaves for another host."""

import base64
import hashlib
import re

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from formcheck.web import csp, routes
from formcheck.web.channel import TokenRegistry
from test_web_routes import models_dir  # noqa: F401  (a fixture)


def test_every_http_response_carries_the_policy(models_dir):
    app = Starlette(routes=routes.routes(TokenRegistry()), middleware=[Middleware(csp.CSPMiddleware)])
    client = TestClient(app)
    for path in (f"{routes.ASSETS_PATH}/vision_bundle.mjs", "/formcheck/model/full.task", "/formcheck/nothing"):
        got = client.get(path, headers={"host": "clinic.example:8501"})
        assert got.headers["content-security-policy"] == csp.policy_for("clinic.example:8501", False), path
    assert csp.installed()
    with client.websocket_connect(routes.LIVE_PATH, headers={"origin": "http://testserver"}) as ws:  # untouched
        ws.send_json({"token": "none"})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert closed.value.code == 4401


def test_the_policy_allows_this_origin_only():
    directives = dict(d.split(" ", 1) for d in csp.policy().split("; "))
    assert directives["default-src"] == directives["connect-src"] == "'self'"
    assert directives["script-src"].startswith("'self' 'wasm-unsafe-eval' blob: 'sha256-")
    assert "'unsafe-eval'" not in directives["script-src"].split() and "'unsafe-inline'" not in directives["script-src"]
    assert directives["worker-src"] == "'self' blob:" and directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'self'"  # the WebRTC fallback is a same-origin iframe
    assert not re.search(r"https?:", csp.policy())


def test_the_script_hash_is_the_installed_streamlits_inline_script():
    html = csp.streamlit_index_html().read_text(encoding="utf-8")
    inline = re.findall(r"<script>(.*?)</script>", html, re.S)  # no attributes: no src
    assert inline and "prerenderReady" in inline[0]
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp.policy()
    assert csp.policy().count("'sha256-") == len(inline) == len(csp.inline_scripts(html))


def test_inline_scripts_are_found_as_a_browser_hashes_them():
    html = '<script src="a.js"></script><script type="module">\r\nlet a = "</p>";\r\n</script><p>x</p>'
    assert csp.inline_scripts(html) == ['\nlet a = "</p>";\n']


def test_the_sockets_address_is_named_only_for_a_plain_host():
    assert "connect-src 'self' wss://clinic.example; " in csp.policy_for("clinic.example", True)
    assert "connect-src 'self' ws://[::1]:8501; " in csp.policy_for("[::1]:8501", False)
    for host in ("evil; script-src *", "a b", "", None, "x:8501/path"):
        assert csp.policy_for(host, False) == csp.policy()
