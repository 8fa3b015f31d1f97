"""Where file bytes live: S3 (presigned POST, multipart, signed GET) or, on the embedded default,
the local disk behind signed endpoints of our own. Both answer the same questions.

Nothing here trusts the client: keys are chosen by the server, sizes are bounded by the grant,
and signed tokens expire.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
import time
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core import signing
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.urls import reverse

_UPLOAD_SALT = "projects.local-upload"
_DOWNLOAD_SALT = "projects.local-download"
PARTS_PREFIX = "uploads/.parts"


def is_s3() -> bool:
    return hasattr(default_storage, "bucket_name")


def _client() -> Any:
    return default_storage.connection.meta.client  # type: ignore[attr-defined]


def _bucket() -> str:
    return str(default_storage.bucket_name)  # type: ignore[attr-defined]


def _absolute(path: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


# --- single-request uploads ---------------------------------------------------------------------


def presigned_post(*, key: str, size: int, ttl: int) -> dict[str, Any]:
    """S3: a POST form bound to this key and exactly this size. Local: a signed PUT URL."""
    if is_s3():
        post = _client().generate_presigned_post(
            Bucket=_bucket(),
            Key=key,
            Conditions=[["content-length-range", size, size]],
            ExpiresIn=ttl,
        )
        return {"method": "POST", "url": post["url"], "fields": post["fields"]}
    token = signing.dumps({"k": key, "s": size, "e": time.time() + ttl}, salt=_UPLOAD_SALT)
    return {"method": "PUT", "url": _absolute(reverse("upload-local", args=[token])), "fields": {}}


def read_local_upload_token(token: str) -> dict[str, Any]:
    """The grant a local upload URL carries; raises signing.BadSignature when forged or old."""
    data: dict[str, Any] = signing.loads(token, salt=_UPLOAD_SALT)
    if float(data.get("e", 0)) < time.time():
        raise signing.SignatureExpired("upload URL expired")
    return data


# --- multipart uploads --------------------------------------------------------------------------


def multipart_start(*, key: str) -> str:
    if is_s3():
        return str(_client().create_multipart_upload(Bucket=_bucket(), Key=key)["UploadId"])
    return "local"


def multipart_part_url(
    *, key: str, multipart_id: str, part_number: int, part_bytes: int, ttl: int
) -> str:
    if is_s3():
        return str(
            _client().generate_presigned_url(
                "upload_part",
                Params={
                    "Bucket": _bucket(),
                    "Key": key,
                    "UploadId": multipart_id,
                    "PartNumber": part_number,
                    "ContentLength": part_bytes,
                },
                ExpiresIn=ttl,
            )
        )
    token = signing.dumps(
        {"k": key, "s": part_bytes, "p": part_number, "e": time.time() + ttl}, salt=_UPLOAD_SALT
    )
    return _absolute(reverse("upload-local", args=[token]))


def _part_key(key: str, part_number: int) -> str:
    return f"{PARTS_PREFIX}/{key.replace('/', '_')}/{part_number:05d}"


@dataclass(frozen=True)
class Part:
    number: int
    size: int
    etag: str


def multipart_parts(*, key: str, multipart_id: str) -> list[Part]:
    """Parts already received, so an interrupted upload resumes where it stopped."""
    if is_s3():
        out: list[Part] = []
        marker = 0
        while True:
            page = _client().list_parts(
                Bucket=_bucket(), Key=key, UploadId=multipart_id, PartNumberMarker=marker
            )
            out += [
                Part(p["PartNumber"], p["Size"], p["ETag"].strip('"'))
                for p in page.get("Parts", [])
            ]
            if not page.get("IsTruncated"):
                return out
            marker = page["NextPartNumberMarker"]
    directory = _part_key(key, 0).rsplit("/", 1)[0]
    if not default_storage.exists(directory):
        return []
    parts = []
    for name in sorted(default_storage.listdir(directory)[1]):
        if name.isdigit():
            with default_storage.open(f"{directory}/{name}") as fh:
                digest = hashlib.md5(fh.read(), usedforsecurity=False).hexdigest()
            parts.append(Part(int(name), default_storage.size(f"{directory}/{name}"), digest))
    return parts


def multipart_complete(*, key: str, multipart_id: str, parts: list[tuple[int, str]]) -> None:
    if is_s3():
        _client().complete_multipart_upload(
            Bucket=_bucket(),
            Key=key,
            UploadId=multipart_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": f'"{e}"'} for n, e in parts]},
        )
        return
    with tempfile.TemporaryFile() as joined:
        for number, _etag in parts:
            with default_storage.open(_part_key(key, number)) as fh:
                while chunk := fh.read(1 << 20):
                    joined.write(chunk)
        joined.seek(0)
        save_exact(key, joined)
    multipart_abort(key=key, multipart_id=multipart_id)


def multipart_abort(*, key: str, multipart_id: str) -> None:
    if is_s3():
        # Already completed or aborted: nothing left to free.
        with contextlib.suppress(Exception):
            _client().abort_multipart_upload(Bucket=_bucket(), Key=key, UploadId=multipart_id)
        return
    directory = _part_key(key, 0).rsplit("/", 1)[0]
    if default_storage.exists(directory):
        for name in default_storage.listdir(directory)[1]:
            default_storage.delete(f"{directory}/{name}")


def local_part_key(key: str, part_number: int) -> str:
    return _part_key(key, part_number)


# --- objects ------------------------------------------------------------------------------------


def save_exact(key: str, content: IO[bytes]) -> None:
    """Stores bytes at exactly `key` (replacing what is there)."""
    if default_storage.exists(key):
        default_storage.delete(key)
    saved = default_storage.save(key, File(content))
    if saved != key:  # pragma: no cover - storage renamed despite the delete
        raise RuntimeError(f"storage saved {key!r} as {saved!r}")


def object_size(key: str) -> int | None:
    try:
        if not default_storage.exists(key):
            return None
        return int(default_storage.size(key))
    except OSError:
        return None


def spool(key: str, *, limit: int) -> tuple[IO[bytes], int, str]:
    """Copies an object to a temporary file, hashing as it goes and stopping after `limit`+1
    bytes. Returns (file at offset 0, bytes read, sha256 hex). The caller closes the file."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
    digest = hashlib.sha256()
    read = 0
    with default_storage.open(key, "rb") as fh:
        while read <= limit:
            chunk = fh.read(min(1 << 20, limit + 1 - read))
            if not chunk:
                break
            digest.update(chunk)
            out.write(chunk)
            read += len(chunk)
    out.seek(0)
    return out, read, digest.hexdigest()


def delete(key: str) -> None:
    default_storage.delete(key)


def signed_url(key: str, *, ttl: int) -> str:
    """A short-lived link to read one object."""
    if is_s3():
        return str(
            _client().generate_presigned_url(
                "get_object", Params={"Bucket": _bucket(), "Key": key}, ExpiresIn=ttl
            )
        )
    token = signing.dumps({"k": key}, salt=_DOWNLOAD_SALT)
    return _absolute(reverse("file-local", args=[token]))


def read_download_token(token: str, *, ttl: int) -> str:
    return str(signing.loads(token, salt=_DOWNLOAD_SALT, max_age=ttl)["k"])
