"""File storage for logos and documents: a local directory served by the API under ``/files``, or S3.

Keys are relative paths such as ``logos/101/<sha256>.png``: content-addressed, so an upload never overwrites
what an earlier URL pointed at.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol

from node.config import Settings

_KEY = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_.-]+)*")


class FileStorage(Protocol):
    def put(self, key: str, content: bytes, content_type: str) -> str:
        """Stores ``content`` under ``key`` and returns its public URL."""
        ...


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key) or ".." in key:
        raise ValueError(f"invalid storage key {key!r}")
    return key


class LocalStorage:
    """Files under a directory; the API serves it read-only at ``/files``."""

    def __init__(self, root: Path, public_url: str) -> None:
        self.root = root
        self._public_url = public_url.rstrip("/")

    def put(self, key: str, content: bytes, content_type: str) -> str:  # noqa: ARG002 (the extension says it)
        path = self.root / check_key(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a reader never sees half a file.
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        os.replace(temporary, path)
        return f"{self._public_url}/files/{key}"


class S3Storage:
    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        import boto3

        if not settings.s3_bucket:
            raise ValueError("S3_BUCKET is required when STORAGE_BACKEND=s3")
        self._bucket = settings.s3_bucket
        self._client = client or boto3.client(
            "s3", region_name=settings.s3_region, endpoint_url=settings.s3_endpoint_url
        )
        if settings.s3_public_url:
            self._public_url = settings.s3_public_url.rstrip("/")
        elif settings.s3_endpoint_url:
            self._public_url = f"{settings.s3_endpoint_url.rstrip('/')}/{self._bucket}"
        else:
            region = settings.s3_region or "us-east-1"
            self._public_url = f"https://{self._bucket}.s3.{region}.amazonaws.com"

    def put(self, key: str, content: bytes, content_type: str) -> str:
        self._client.put_object(Bucket=self._bucket, Key=check_key(key), Body=content, ContentType=content_type)
        return f"{self._public_url}/{key}"


def make_storage(settings: Settings) -> FileStorage:
    if settings.storage_backend == "s3":
        return S3Storage(settings)
    return LocalStorage(settings.files_dir, settings.public_url)
