"""File storage: the local directory (atomic writes, no path escapes) and S3 (against moto's S3 emulation)."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from node.config import Settings
from node.storage import LocalStorage, S3Storage, make_storage


def test_local_storage_writes_under_its_root_and_returns_the_served_url(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files", "https://registry.example.org/")
    url = storage.put("logos/7/abc.png", b"png-bytes", "image/png")
    assert url == "https://registry.example.org/files/logos/7/abc.png"
    assert (tmp_path / "files" / "logos" / "7" / "abc.png").read_bytes() == b"png-bytes"
    assert not list((tmp_path / "files" / "logos" / "7").glob(".upload-*"))


@pytest.mark.parametrize("key", ["../escape.png", "/etc/passwd", "logos/../../x", "", "logos//x.png"])
def test_keys_cannot_escape_the_storage_root(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="invalid storage key"):
        LocalStorage(tmp_path, "http://x").put(key, b"", "image/png")


def test_s3_storage_puts_the_object_with_its_content_type(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"),
                        ("AWS_DEFAULT_REGION", "eu-west-1")):  # fmt: skip
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None, registry_data_dir=tmp_path, storage_backend="s3",
                        s3_bucket="registry-files", s3_region="eu-west-1")  # fmt: skip
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket="registry-files", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        storage = make_storage(settings)
        assert isinstance(storage, S3Storage)
        url = storage.put("logos/9/def.jpg", b"jpeg-bytes", "image/jpeg")
        stored = s3.get_object(Bucket="registry-files", Key="logos/9/def.jpg")
        assert stored["Body"].read() == b"jpeg-bytes"
        assert stored["ContentType"] == "image/jpeg"
    assert url == "https://registry-files.s3.eu-west-1.amazonaws.com/logos/9/def.jpg"


def test_s3_needs_a_bucket(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, registry_data_dir=tmp_path, storage_backend="s3")
    with pytest.raises(ValueError, match="S3_BUCKET"):
        make_storage(settings)
