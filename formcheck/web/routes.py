"""formcheck's own routes on Streamlit's server (serve.py's st.App): the landmark socket, the browser's pose
runtime, the pose model bundle and the live page's own scripts (formcheck/web/static).

Served from here and never from a CDN, so the page fetches nothing from another host and the browser runs the
very bundle the server's Python verified. The runtime's folder carries its version and the model's URL its
sha256, so both are cached for a year without going stale. Streamlit keeps /_stcore/, /media/, /component/ and
/static/ for itself: everything here is under /formcheck/.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import anyio
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from .. import models
from ..errors import ModelError
from .channel import LiveChannel, TokenRegistry

LIVE_PATH = "/formcheck/live"
ASSETS_PATH = f"/formcheck/assets/{models.WEB_RUNTIME}"
STATIC_PATH = "/formcheck/static"
STATIC_DIR = Path(__file__).resolve().parent / "static"
MODEL_PATH = "/formcheck/model/{variant}.task"
IMMUTABLE = "public, max-age=31536000, immutable"
DELEGATE = "CPU"  # the browser's model runs as Python's does: the same landmarks (a GPU's differ a little)


def streamlit_session_alive(session_id: str) -> bool:
    """Whether Streamlit still runs this page session (its Runtime's semi-internal `is_active_session`, wrapped
    here alone); True where no Streamlit runtime exists (the routes served on their own, in tests)."""
    from streamlit.runtime import Runtime

    return not Runtime.exists() or Runtime.instance().is_active_session(session_id)


REGISTRY = TokenRegistry(session_alive=streamlit_session_alive)  # this server's live sets: the pages mint here


def routes(registry: TokenRegistry = REGISTRY) -> list[BaseRoute]:
    return [
        WebSocketRoute(LIVE_PATH, LiveChannel(registry).serve),
        Mount(ASSETS_PATH, app=RuntimeFiles(directory=models.web_runtime_dir(), check_dir=False)),
        Mount(STATIC_PATH, app=PageFiles(directory=STATIC_DIR)),
        Route(MODEL_PATH, model_bundle, methods=["GET", "HEAD"]),
    ]


class RuntimeFiles(StaticFiles):
    """The browser's pose runtime (models/web): types from this table, not from the machine's mime.types (a
    module script or wasm with another type is refused), and cached for a year (its folder names the version)."""

    JS = "text/javascript; charset=utf-8"
    TYPES = {".mjs": JS, ".js": JS, ".wasm": "application/wasm", ".css": "text/css; charset=utf-8"}

    async def check_config(self) -> None:
        """A runtime not prepared yet is a 404 (the page falls back to the server's pose), not a 500."""

    def file_response(self, full_path, stat_result, scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        suffix = os.path.splitext(full_path)[1]
        if response.status_code == 200:
            response.headers["content-type"] = self.TYPES.get(suffix, "application/octet-stream")
        response.headers["cache-control"] = IMMUTABLE
        return response


class PageFiles(RuntimeFiles):
    """The live page's own scripts (live.js, pose_worker.js): typed as the runtime's, revalidated on every load
    (they change with formcheck, under the same names)."""

    def file_response(self, full_path, stat_result, scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["cache-control"] = "no-cache"
        return response


_verified: dict[str, tuple[int, int, str]] = {}  # variant → (mtime ns, size, sha256) of the bundle last verified
_verifying = threading.Lock()


def verified_bundle(variant: str, prepare: bool = False) -> tuple[str, str]:
    """The variant's bundle path and sha256, checked once per file version (not on every request); `prepare`: a
    missing bundle is prepared first (the page's script may; a request never makes the server download)."""
    with _verifying:
        path = models.bundle_path(variant)
        known = _verified.get(variant)
        stat = path.stat() if path.exists() else None
        if stat is None or known is None or known[:2] != (stat.st_mtime_ns, stat.st_size):
            if prepare:
                models.ensure_model(variant, quiet=True)
            else:
                models.verify(path)
            stat = path.stat()
            _verified[variant] = (stat.st_mtime_ns, stat.st_size, models.sha256_of(path))
        return str(path), _verified[variant][2]


def model_url(variant: str = models.DEFAULT_VARIANT) -> str:
    """The bundle's URL for the page (prepared first if need be): with its sha256, so the browser may keep it a
    year."""
    return MODEL_PATH.format(variant=variant) + f"?sha256={verified_bundle(variant, prepare=True)[1]}"


async def model_bundle(request: Request) -> Response:
    """`/formcheck/model/{variant}.task`: the bundle Python verified, for the known variants only, and only once
    prepared (503 before: a request never starts a download). Cached for a year when asked for by its sha256
    (model_url); a stale sha256 is a 404, no sha256 a revalidated answer."""
    variant = request.path_params["variant"]
    if variant not in models.VARIANTS:
        raise HTTPException(404)
    try:
        path, digest = await anyio.to_thread.run_sync(verified_bundle, variant)
    except ModelError as exc:
        return PlainTextResponse(str(exc), status_code=503)
    asked = request.query_params.get("sha256")
    if asked is not None and asked != digest:
        raise HTTPException(404)
    return FileResponse(path, media_type="application/octet-stream",
                        headers={"cache-control": IMMUTABLE if asked else "no-cache"})


def provenance(variant: str, frames_per_s: float, dropped: int) -> dict:
    """Where a live set's landmarks came from, for its stored report: the patient's browser, with the runtime
    and the model bundle this server gave it (its sha256), the delegate, and how many frames a second the
    checkers judged and how many the socket dropped."""
    return {"source": "browser", "library": models.TASKS_VISION, "model": f"pose_landmarker_{variant}",
            "model_sha256": verified_bundle(variant)[1], "delegate": DELEGATE, "frames_per_s": round(frames_per_s, 1),
            "frames_dropped": dropped}
