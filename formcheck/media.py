"""The media store: where queued uploads, their progress and their results live, so videos reach the workers
through storage and never through the broker (formcheck/jobs.py).

`open_media(url)` with `FORMCHECK_MEDIA_URL`:
- unset, a path or `file:///path`: a local folder (default `data/media` beside the package). Workers on the
  same machine, or on machines that mount the same folder (NFS), share it.
- `s3://bucket/prefix`: an S3-compatible store (AWS S3, MinIO, Ceph, moto's server, ...) for workers on other
  machines. Endpoint and credentials are boto3's own settings: `AWS_ENDPOINT_URL_S3` (or `AWS_ENDPOINT_URL`)
  for a store other than AWS, `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`.

Keys are relative paths (`jobs/<id>/report.json`). Every write is whole (a reader never sees half an object);
`create_once` writes a key only if it is absent, atomically, which is what makes a job's outcome stored once.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, Protocol
from urllib.parse import urlparse

from .errors import FormcheckError

DEFAULT_MEDIA = Path(__file__).resolve().parent.parent / "data" / "media"


class MediaError(FormcheckError):
    """The media store cannot be reached or refused a request."""


class MediaStore(Protocol):
    url: str

    def put_file(self, key: str, path: str | os.PathLike) -> None: ...
    def get_file(self, key: str, path: str | os.PathLike) -> bool: ...
    def put_bytes(self, key: str, data: bytes) -> None: ...
    def get_bytes(self, key: str) -> bytes | None: ...
    def create_once(self, key: str, data: bytes) -> bool: ...
    def delete(self, key: str) -> None: ...
    def delete_prefix(self, prefix: str) -> None: ...
    def list(self, prefix: str) -> Iterator[tuple[str, float]]: ...


def media_url() -> str:
    return os.environ.get("FORMCHECK_MEDIA_URL") or str(DEFAULT_MEDIA)


def open_media(url: str | None = None) -> MediaStore:
    url = url or media_url()
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise MediaError(f"FORMCHECK_MEDIA_URL '{url}' names no bucket: use s3://bucket/prefix")
        return S3Media(parsed.netloc, parsed.path.strip("/"))
    if parsed.scheme == "file":
        return LocalMedia(parsed.path)
    if parsed.scheme and len(parsed.scheme) > 1:  # not a Windows drive letter
        raise MediaError(f"FORMCHECK_MEDIA_URL '{url}' is neither a folder, file:///folder nor s3://bucket/prefix")
    return LocalMedia(url)


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"bad media key {key!r}")
    return key


class LocalMedia:
    """A folder. Objects are files, written through a temporary file and renamed (or linked, for create_once)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser().resolve()
        self.url = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def _temp(self, key: str) -> Path:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # patients' videos: the owner only
        except OSError as exc:
            raise MediaError(f"cannot write to the media folder {self.root}: {exc.strerror}") from None
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        os.close(fd)
        return Path(tmp)

    def put_file(self, key: str, path: str | os.PathLike) -> None:
        tmp = self._temp(key)
        try:
            shutil.copyfile(path, tmp)
            os.replace(tmp, self._path(key))
        finally:
            tmp.unlink(missing_ok=True)

    def get_file(self, key: str, path: str | os.PathLike) -> bool:
        try:
            shutil.copyfile(self._path(key), path)
        except FileNotFoundError:
            return False
        return True

    def put_bytes(self, key: str, data: bytes) -> None:
        tmp = self._temp(key)
        try:
            tmp.write_bytes(data)
            os.replace(tmp, self._path(key))
        finally:
            tmp.unlink(missing_ok=True)

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def create_once(self, key: str, data: bytes) -> bool:
        tmp = self._temp(key)
        try:
            tmp.write_bytes(data)
            os.link(tmp, self._path(key))  # fails if the key exists: exactly one writer wins
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)
        return True

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        shutil.rmtree(self._path(prefix.rstrip("/")), ignore_errors=True)

    def list(self, prefix: str) -> Iterator[tuple[str, float]]:
        """(key, modification time) of every object under `prefix`."""
        base = self._path(prefix.rstrip("/"))
        if not base.is_dir():
            return
        for path in base.rglob("*"):
            if path.is_file() and not path.name.endswith(".part"):
                try:
                    yield path.relative_to(self.root).as_posix(), path.stat().st_mtime
                except FileNotFoundError:
                    continue


class S3Media:
    """A bucket (and key prefix) on an S3-compatible server, through boto3."""

    def __init__(self, bucket: str, prefix: str = ""):
        self.bucket, self.prefix = bucket, f"{prefix}/" if prefix else ""
        self.url = f"s3://{bucket}/{prefix}"
        self._client = None

    @property
    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client("s3", config=Config(retries={"max_attempts": 5, "mode": "standard"},
                                                            connect_timeout=5, read_timeout=60))
        return self._client

    def _key(self, key: str) -> str:
        return self.prefix + _check_key(key)

    def _call(self, what: str, function, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return function(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise FileNotFoundError(kwargs.get("Key")) from None
            if code in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise FileExistsError(kwargs.get("Key")) from None
            raise MediaError(f"the media store {self.url} refused to {what}: {code or exc}") from None
        except BotoCoreError as exc:
            raise MediaError(f"cannot reach the media store {self.url} to {what}: {exc}") from None

    def put_file(self, key: str, path: str | os.PathLike) -> None:
        with open(path, "rb") as f:  # one PUT for up to 5 GB (uploads are at most 2 GB)
            self._call("store a file", self.client.put_object, Key=self._key(key), Body=f)

    def get_file(self, key: str, path: str | os.PathLike) -> bool:
        try:
            answer = self._call("read a file", self.client.get_object, Key=self._key(key))
        except FileNotFoundError:
            return False
        with open(path, "wb") as f:
            for chunk in answer["Body"].iter_chunks(1 << 20):
                f.write(chunk)
        return True

    def put_bytes(self, key: str, data: bytes) -> None:
        self._call("store an object", self.client.put_object, Key=self._key(key), Body=data)

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return self._call("read an object", self.client.get_object, Key=self._key(key))["Body"].read()
        except FileNotFoundError:
            return None

    def create_once(self, key: str, data: bytes) -> bool:
        """A conditional PUT (If-None-Match: *), which S3, MinIO and moto honour: one writer wins."""
        try:
            self._call("store an object", self.client.put_object, Key=self._key(key), Body=data, IfNoneMatch="*")
        except FileExistsError:
            return False
        return True

    def delete(self, key: str) -> None:
        self._call("delete an object", self.client.delete_object, Key=self._key(key))

    def delete_prefix(self, prefix: str) -> None:
        keys = [k for k, _ in self.list(prefix)]
        for i in range(0, len(keys), 1000):
            self._call("delete objects", self.client.delete_objects,
                       Delete={"Objects": [{"Key": self.prefix + k} for k in keys[i:i + 1000]], "Quiet": True})

    def list(self, prefix: str) -> Iterator[tuple[str, float]]:
        token = {}
        while True:
            page = self._call("list objects", self.client.list_objects_v2, Prefix=self._key(prefix.rstrip("/")) + "/",
                              **token)
            for item in page.get("Contents", []):
                yield item["Key"][len(self.prefix):], item["LastModified"].timestamp()
            if not page.get("IsTruncated"):
                return
            token = {"ContinuationToken": page["NextContinuationToken"]}
