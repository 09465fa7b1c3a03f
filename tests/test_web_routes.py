"""formcheck's routes on Streamlit's server (formcheck/web/routes.py), against the routes alone: the types and
caching a browser relies on, and nothing served from outside the runtime's folder or for an unknown model."""

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from formcheck import models
from formcheck.web import routes
from formcheck.web.channel import TokenRegistry

RUNTIME = {"vision_bundle.mjs": b"export const x = 1;\n", "wasm/vision_wasm_internal.js": b"var M;\n",
           "wasm/vision_wasm_internal.wasm": b"\0asm\1\0\0\0"}
BUNDLE = b"PK fake pose bundle " * 100


@pytest.fixture
def models_dir(tmp_path, monkeypatch):
    """models/ with a (fake) prepared runtime and a pinned full bundle."""
    monkeypatch.setattr(models, "MODELS_DIR", tmp_path)
    monkeypatch.setattr(routes, "_verified", {})
    for name, data in RUNTIME.items():
        path = tmp_path / "web" / models.WEB_RUNTIME / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (tmp_path / "pose_landmarker_full.task").write_bytes(BUNDLE)
    (tmp_path / "SHA256SUMS").write_text(f"{models.sha256_of(BUNDLE)} pose_landmarker_full.task\n")
    return tmp_path


@pytest.fixture
def client(models_dir):
    with TestClient(Starlette(routes=routes.routes(TokenRegistry()))) as client:
        yield client


# --- the browser's runtime -----------------------------------------------------------------------

@pytest.mark.parametrize("name, content_type", [
    ("vision_bundle.mjs", "text/javascript; charset=utf-8"),
    ("wasm/vision_wasm_internal.js", "text/javascript; charset=utf-8"),
    ("wasm/vision_wasm_internal.wasm", "application/wasm"),
])
def test_the_runtime_is_served_with_its_types_cached_for_a_year(client, name, content_type):
    got = client.get(f"{routes.ASSETS_PATH}/{name}")
    assert got.status_code == 200 and got.content == RUNTIME[name]
    assert got.headers["content-type"] == content_type
    assert got.headers["cache-control"] == "public, max-age=31536000, immutable" and got.headers["etag"]
    again = client.get(f"{routes.ASSETS_PATH}/{name}", headers={"if-none-match": got.headers["etag"]})
    assert again.status_code == 304 and again.headers["cache-control"] == routes.IMMUTABLE
    part = client.get(f"{routes.ASSETS_PATH}/{name}", headers={"range": "bytes=0-3"})
    assert part.status_code == 206 and part.content == RUNTIME[name][:4]


@pytest.mark.parametrize("path", [
    "/vision_bundle.cjs", "/wasm", "/%2e%2e/%2e%2e/SHA256SUMS", "/..%2f..%2fSHA256SUMS", "/%2fetc%2fpasswd",
    "/wasm/%2e%2e/%2e%2e/%2e%2e/pose_landmarker_full.task",
])
def test_nothing_else_is_served_from_there(client, path):
    got = client.get(routes.ASSETS_PATH + path)
    assert got.status_code == 404 and BUNDLE not in got.content and b"pose_landmarker" not in got.content


def test_a_runtime_not_prepared_yet_is_a_404_not_a_server_error(client, models_dir):
    import shutil

    shutil.rmtree(models_dir / "web")
    assert client.get(f"{routes.ASSETS_PATH}/vision_bundle.mjs").status_code == 404


# --- the model bundle ----------------------------------------------------------------------------

def test_the_verified_bundle_is_served_and_cached_for_a_year_by_its_sha256(client):
    url = routes.model_url("full")
    assert url == f"/formcheck/model/full.task?sha256={models.sha256_of(BUNDLE)}"
    got = client.get(url)
    assert got.status_code == 200 and got.content == BUNDLE
    assert got.headers["cache-control"] == routes.IMMUTABLE
    assert got.headers["content-type"] == "application/octet-stream"
    plain = client.get("/formcheck/model/full.task")
    assert plain.status_code == 200 and plain.headers["cache-control"] == "no-cache"
    assert client.head(url).status_code == 200


def test_a_bundle_changed_on_disk_is_verified_again(client, models_dir):
    assert client.get(routes.model_url("full")).status_code == 200
    (models_dir / "pose_landmarker_full.task").write_bytes(b"tampered" * 10)
    got = client.get("/formcheck/model/full.task")
    assert got.status_code == 503 and "corrupt" in got.text


@pytest.mark.parametrize("path", [
    "/formcheck/model/bogus.task", "/formcheck/model/..%2fSHA256SUMS.task", "/formcheck/model/full.tflite",
    "/formcheck/model/full.task?sha256=" + "0" * 64,  # a page that asks for another version
])
def test_unknown_variants_and_stale_versions_are_404(client, path):
    got = client.get(path)
    assert got.status_code == 404 and BUNDLE not in got.content


def test_a_bundle_not_prepared_is_a_503_and_a_request_never_prepares_one(client, monkeypatch):
    def download(variant, quiet=False):
        raise AssertionError("a request started a download")

    monkeypatch.setattr(models, "prepare", download)
    got = client.get("/formcheck/model/lite.task")
    assert got.status_code == 503 and got.text.startswith(f"pose model {models.bundle_path('lite')} is missing")
    with pytest.raises(AssertionError, match="started a download"):  # the page's script may prepare it
        routes.model_url("lite")


@pytest.mark.parametrize("name", ["live.js", "pose_worker.js"])
def test_the_live_pages_own_scripts_are_served_typed_and_revalidated(client, name):
    got = client.get(f"{routes.STATIC_PATH}/{name}")
    assert got.status_code == 200 and got.content == (routes.STATIC_DIR / name).read_bytes()
    assert got.headers["content-type"] == "text/javascript; charset=utf-8"  # a module or worker: typed, or refused
    assert got.headers["cache-control"] == "no-cache" and got.headers["etag"]  # they change with formcheck
    assert client.get(f"{routes.STATIC_PATH}/../routes.py").status_code == 404


def test_a_browser_sets_provenance_names_the_runtime_and_the_bundle_served(models_dir):
    got = routes.provenance("full", 14.26, 3)
    assert got == {"source": "browser", "library": models.TASKS_VISION, "model": "pose_landmarker_full",
                   "model_sha256": models.sha256_of(BUNDLE), "delegate": "CPU", "frames_per_s": 14.3,
                   "frames_dropped": 3}


def test_no_route_is_under_a_prefix_streamlit_keeps():
    from streamlit.web.server.starlette.starlette_app import _RESERVED_ROUTE_PREFIXES

    paths = [route.path for route in routes.routes(TokenRegistry())]
    assert paths == [routes.LIVE_PATH, routes.ASSETS_PATH, routes.STATIC_PATH, routes.MODEL_PATH]
    assert all(path.startswith("/formcheck/") and not path.startswith(_RESERVED_ROUTE_PREFIXES) for path in paths)


def test_without_a_streamlit_runtime_every_session_counts_as_running():
    assert routes.streamlit_session_alive("no-such-session") is True
