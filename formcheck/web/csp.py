"""The Content-Security-Policy of every page and file this server sends: code, workers, sockets and fetches from
this origin only.

The pose model runs in the patient's browser from files formcheck serves itself, and the policy makes that the
only way: the model library's usage log to an outside host is refused (`connect-src 'self'`), and so is any
script not served from here, but for Streamlit's one inline script, allowed by its hash, computed at startup
from the installed Streamlit's index.html (an upgrade that changes the script changes the hash with it).
`'wasm-unsafe-eval'` lets the model's wasm compile; `blob:` the component's inline module and the model's
worker. `frame-ancestors 'self'`, not 'none': the WebRTC fallback's component is a same-origin iframe.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

HEADER = b"content-security-policy"
HOST = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")  # a name or [IPv6], a port
_installed = False


def streamlit_index_html() -> Path:
    from streamlit import file_util

    return Path(file_util.get_static_dir()) / "index.html"


def inline_scripts(html: str) -> list[str]:
    """The text of each `<script>` without `src`, exactly as a browser hashes it (line ends normalised)."""
    found: list[str] = []

    class Scripts(HTMLParser):
        inside: list[str] | None = None

        def handle_starttag(self, tag, attrs):
            if tag == "script" and "src" not in dict(attrs):
                self.inside = []

        def handle_data(self, data):
            if self.inside is not None:
                self.inside.append(data)

        def handle_endtag(self, tag):
            if tag == "script" and self.inside is not None:
                found.append("".join(self.inside))
                self.inside = None

    parser = Scripts(convert_charrefs=False)
    parser.feed(html.replace("\r\n", "\n").replace("\r", "\n"))
    parser.close()
    return found


def script_hash(script: str) -> str:
    """A CSP source allowing one inline script: 'sha256-<base64 of its UTF-8 text's digest>'."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode() + "'"


@functools.cache
def policy() -> str:
    """The policy, with the hashes of the installed Streamlit's inline scripts."""
    hashes = " ".join(script_hash(s) for s in inline_scripts(streamlit_index_html().read_text(encoding="utf-8")))
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'wasm-unsafe-eval' blob: {hashes}".rstrip(),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "frame-src 'self'",
        "frame-ancestors 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ])


def policy_for(host: str | None, secure: bool) -> str:
    """The policy for a response to a request for `host`: its socket's address also named in connect-src, as
    Safari before 15.4 did not count ws: and wss: as 'self'. A Host that is not a plain host[:port] is left out."""
    if not host or not HOST.match(host):
        return policy()
    return policy().replace("connect-src 'self'", f"connect-src 'self' {'wss' if secure else 'ws'}://{host}")


def installed() -> bool:
    """Whether this process serves its responses through CSPMiddleware (serve.py): the browser's pose path
    relies on the policy to keep the model library's usage log from leaving, so the page offers it only then."""
    return _installed


class CSPMiddleware:
    """Pure ASGI middleware: the policy on every HTTP response (sockets have no headers to add it to). A policy
    set further in stays too: the browser enforces both."""

    def __init__(self, app):
        global _installed
        self.app = app
        policy()  # read index.html once, at startup: a broken install fails here, not on the first page
        _installed = True

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
        value = policy_for(host, scope.get("scheme") == "https").encode("latin-1")

        async def send_with_policy(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (HEADER, value)]}
            await send(message)

        await self.app(scope, receive, send_with_policy)
