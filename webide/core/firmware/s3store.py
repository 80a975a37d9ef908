"""The artifact store on S3-compatible object storage (AWS S3, MinIO, Ceph RGW, Garage …), through boto3.

Each file is one object under ``<prefix>/<sha256[:2]>/<sha256>/<name>``. A single PUT is atomic in S3, and the app
image is uploaded last, so an artifact whose app image exists is complete. Every PUT carries ``Content-MD5``: the
server refuses bytes damaged on the way. Each request has a connect and a read timeout and at most two attempts, so
a bot's download gets an answer (or a 503) in bounded time.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Generator, Mapping
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ...config import S3Access
from .store_contract import (
    APP_IMAGE,
    CHUNK_BYTES,
    S3_SCHEME,
    ObjectStream,
    StoreUnavailable,
    app_image_last,
    artifact_key,
    missing,
    no_bytes,
    require_app_image,
)

MISSING_CODES = {"404", "NoSuchKey", "NotFound"}
MAX_CONNECTIONS = 64  # one per download in flight; more wait for a free connection


def s3_client(access: S3Access) -> Any:
    """A client with bounded timeouts; empty settings fall back to boto3's defaults (AWS endpoints, IAM roles)."""
    config = Config(
        connect_timeout=access.timeout_s,
        read_timeout=access.timeout_s,
        retries={"max_attempts": 2, "mode": "standard"},
        max_pool_connections=MAX_CONNECTIONS,
        s3={"addressing_style": "path"} if access.endpoint_url else None,
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=access.endpoint_url or None,
        region_name=access.region or None,
        aws_access_key_id=access.access_key_id or None,
        aws_secret_access_key=access.secret_access_key or None,
        aws_session_token=access.session_token or None,
        config=config,
    )


def content_md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 16):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode()


def is_missing(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code", "")) in MISSING_CODES


class S3Store:
    """Artifacts as objects in one bucket under a prefix."""

    def __init__(self, client: Any, bucket: str, prefix: str):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    @classmethod
    def from_location(cls, location: str, access: S3Access) -> S3Store:
        bucket, _, prefix = location.removeprefix(S3_SCHEME).partition("/")
        return cls(s3_client(access), bucket, prefix)

    def __repr__(self) -> str:
        return f"S3Store({S3_SCHEME}{self.bucket}/{self.prefix})"

    def key(self, sha256: str, name: str) -> str:
        key = artifact_key(sha256, name)
        return f"{self.prefix}/{key}" if self.prefix else key

    def unavailable(self, action: str, error: Exception) -> StoreUnavailable:
        return StoreUnavailable(f"The artifact store {self!r} could not {action}: {error}")

    def local_file(self, sha256: str, name: str = APP_IMAGE) -> Path | None:
        return None

    def exists(self, sha256: str, name: str = APP_IMAGE) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(sha256, name))
        except ClientError as error:
            if is_missing(error):
                return False
            raise self.unavailable("look up an artifact", error) from None
        except BotoCoreError as error:
            raise self.unavailable("look up an artifact", error) from None
        return True

    def publish(self, sha256: str, files: Mapping[str, Path]) -> None:
        require_app_image(sha256, files)
        if self.exists(sha256):
            return
        for name, source in app_image_last(files):
            with source.open("rb") as body:
                try:
                    self.client.put_object(
                        Bucket=self.bucket,
                        Key=self.key(sha256, name),
                        Body=body,
                        ContentMD5=content_md5(source),
                        ContentType="application/octet-stream",
                    )
                except (ClientError, BotoCoreError) as error:
                    raise self.unavailable("store an artifact", error) from None

    def read(self, sha256: str, name: str = APP_IMAGE, start: int = 0, stop: int | None = None) -> ObjectStream:
        if stop is not None and stop < start:
            raise ValueError(f"bad byte range {start}..{stop}")
        if stop == start:
            if not self.exists(sha256, name):
                raise missing(sha256, name)
            return ObjectStream(0, no_bytes())
        last = "" if stop is None else str(stop - 1)
        try:
            reply = self.client.get_object(
                Bucket=self.bucket, Key=self.key(sha256, name), Range=f"bytes={start}-{last}"
            )
        except ClientError as error:
            if is_missing(error):
                raise missing(sha256, name) from None
            if str(error.response.get("Error", {}).get("Code", "")) == "InvalidRange":
                return ObjectStream(0, no_bytes())  # start at the end of the file: nothing to read
            raise self.unavailable("read an artifact", error) from None
        except BotoCoreError as error:
            raise self.unavailable("read an artifact", error) from None
        body = reply["Body"]
        return ObjectStream(int(reply["ContentLength"]), self.body_chunks(body), body)

    def body_chunks(self, body: Any) -> Generator[bytes, None, None]:
        try:
            yield from body.iter_chunks(CHUNK_BYTES)
        except BotoCoreError as error:
            raise self.unavailable("finish reading an artifact", error) from None
        finally:
            body.close()
