"""The browser's pose runtime (models.ensure_web_runtime): only what the pins allow reaches models/web, written
whole, prepared once; npm or its registry missing is one clear line. A small fake tarball stands in for npm's
(the real `npm pack` is exercised by `formcheck models --browser`)."""

import io
import tarfile

import pytest

from formcheck import cli, models
from formcheck.errors import ModelError

FILES = {name: f"// {name}\n".encode() * 3 for name in models.WEB_RUNTIME_FILES}
TARBALL = f"mediapipe-{models.WEB_RUNTIME}.tgz"


def tarball(files: dict[str, bytes], extra: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tf:
        for name, data in {**files, **(extra or {})}.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.fixture
def models_dir(tmp_path, monkeypatch):
    """An empty models/ whose SHA256SUMS pins the fake tarball and its files, npm's tarball already cached."""
    monkeypatch.setattr(models, "MODELS_DIR", tmp_path)
    packed = tarball(FILES, {"vision_bundle.cjs": b"not kept", "README.md": b"not kept"})
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / TARBALL).write_bytes(packed)
    pins = {TARBALL: models.sha256_of(packed)}
    pins.update({f"web/{models.WEB_RUNTIME}/{name}": models.sha256_of(data) for name, data in FILES.items()})
    (tmp_path / "SHA256SUMS").write_text("".join(f"{digest} {name}\n" for name, digest in pins.items()))
    return tmp_path


def test_the_pinned_files_and_only_they_are_kept(models_dir):
    folder = models.ensure_web_runtime(quiet=True)
    assert folder == models_dir / "web" / models.WEB_RUNTIME
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == sorted(FILES)
    assert all((folder / name).read_bytes() == data for name, data in FILES.items())
    assert [p.name for p in (models_dir / "web").iterdir()] == [models.WEB_RUNTIME]  # no staging left behind


def test_prepared_once_then_only_verified_and_a_damaged_file_is_prepared_again(models_dir, monkeypatch):
    folder = models.ensure_web_runtime(quiet=True)
    (models_dir / ".cache" / TARBALL).unlink()

    def no_npm(*args):
        raise AssertionError("npm asked again")

    monkeypatch.setattr(models, "_npm_pack", no_npm)
    assert models.ensure_web_runtime(quiet=True) == folder
    (folder / "wasm/vision_wasm_internal.wasm").write_bytes(b"damaged")
    with pytest.raises(AssertionError, match="npm asked again"):
        models.ensure_web_runtime(quiet=True)


def test_a_tarball_that_is_not_the_pinned_one_is_refused_and_deleted(models_dir):
    cached = models_dir / ".cache" / TARBALL
    cached.write_bytes(tarball({**FILES, "vision_bundle.mjs": b"tampered"}))
    with pytest.raises(ModelError, match=f"^{TARBALL} from npm has an unexpected sha256; refusing to use it$"):
        models.ensure_web_runtime(quiet=True)
    assert not cached.exists() and not (models_dir / "web").exists()


def test_a_file_that_is_not_pinned_leaves_the_prepared_folder_as_it_was(models_dir):
    folder = models.ensure_web_runtime(quiet=True)
    (folder / "vision_bundle.mjs").write_bytes(b"damaged")
    packed = tarball({**FILES, "vision_bundle.mjs": b"tampered"})
    (models_dir / ".cache" / TARBALL).write_bytes(packed)
    sums = (models_dir / "SHA256SUMS").read_text().splitlines()
    sums[0] = f"{models.sha256_of(packed)} {TARBALL}"  # a tarball pinned, but a member not as pinned
    (models_dir / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    with pytest.raises(ModelError, match="vision_bundle.mjs in .* has an unexpected sha256"):
        models.ensure_web_runtime(quiet=True)
    assert (folder / "vision_bundle.mjs").read_bytes() == b"damaged"


def test_the_project_pins_the_npm_tarball_and_each_file_it_keeps():
    pins = models.pinned_sums()
    assert pins[TARBALL] == "46fc3d3d13fa5de631915929d045be2f74bb32e909d7a5b3a322b28976f54165"
    assert all(len(pins[f"web/{models.WEB_RUNTIME}/{name}"]) == 64 for name in models.WEB_RUNTIME_FILES)


def test_without_npm_the_error_is_one_clear_line(models_dir, monkeypatch, tmp_path):
    (models_dir / ".cache" / TARBALL).unlink()
    monkeypatch.setattr(models.shutil, "which", lambda name: None)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ModelError) as refused:
        models.ensure_web_runtime(quiet=True)
    assert str(refused.value) == f"npm pack {models.TASKS_VISION} needs `npm`, which is not installed"


def test_an_unreachable_registry_is_one_clear_line(models_dir, monkeypatch):
    if not models.shutil.which("npm"):
        pytest.skip("npm is not installed (the line for that is tested above)")
    (models_dir / ".cache" / TARBALL).unlink()
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")  # nothing listens on the discard port
    monkeypatch.setenv("npm_config_fetch_retries", "0")
    with pytest.raises(ModelError) as refused:
        models.ensure_web_runtime(quiet=True)
    message = str(refused.value)
    assert message.startswith(f"npm pack {models.TASKS_VISION} failed: ") and "ECONNREFUSED" in message
    assert "\n" not in message and "complete log" not in message


def test_npm_errors_name_their_cause_not_their_log():
    stderr = ("npm error code ETARGET\nnpm error notarget No matching version found for x@9.\n"
              "npm error A complete log of this run can be found in: /root/.npm/_logs/x.log\n")
    assert models._telling_line(stderr) == "notarget No matching version found for x@9."
    assert models._telling_line("ERROR: one\nERROR: No matching distribution\n") == "ERROR: No matching distribution"
    assert models._telling_line("") == "no output"


def test_formcheck_models_browser_prepares_it(models_dir, monkeypatch, capsys):
    monkeypatch.setattr(models, "ensure_model", lambda variant: models_dir / "SHA256SUMS")
    assert cli.main(["models", "--browser"]) == 0
    assert f"browser runtime: {models_dir / 'web' / models.WEB_RUNTIME} (5 files of" in capsys.readouterr().out
