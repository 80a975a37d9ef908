"""The artifact store contract, run against the local folder store and the S3 store (moto's server mode, a stand-in
for S3 over real HTTP), and the device path served from the S3 store with the same headers as from the folder."""

from __future__ import annotations

import hashlib
import os
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from webide import create_app
from webide.config import ConfigError, Settings, load_settings
from webide.core.firmware.s3store import S3Store, s3_client
from webide.core.firmware.store import (
    APP_IMAGE,
    HEX_IMAGE,
    ArtifactCorrupt,
    ArtifactMissing,
    ArtifactStore,
    LocalFolderStore,
    StoreUnavailable,
    artifact_store,
    download_name,
)
from webide.database import migrate_database
from webide.doctor import Check, check_artifact_store
from webide.runner import free_port

from .conftest import ESP32_FQBN, Accounts, bearer
from .ota_support import deploy_image
from .s3_standin import S3StandIn, moto_s3_server

# The device-path tests of the folder store, run again here against the S3 store (their fixtures come along).
from .test_ota_protocol import (  # noqa: F401
    STOCK_HEADERS,
    TestFirmwareDownload,
    TestRanges,
    bots,
    firmware,
)


@pytest.fixture(scope="module")
def s3_standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3StandIn]:
    with moto_s3_server(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@pytest.fixture
def bucket(s3_standin: S3StandIn) -> str:
    name = f"firmware-{uuid.uuid4().hex[:12]}"
    s3_standin.create_bucket(name)
    return name


@pytest.fixture
def settings(settings: Settings, s3_standin: S3StandIn, bucket: str) -> Settings:
    """The suite's settings with the S3 stand-in as the artifact store (used by the imported device-path tests)."""
    access = s3_standin.access()
    return settings.with_overrides(
        artifact_store=f"s3://{bucket}/classroom/artifacts",
        s3_endpoint_url=access.endpoint_url,
        s3_region=access.region,
        s3_access_key_id=access.access_key_id,
        s3_secret_access_key=access.secret_access_key,
    )


@pytest.fixture(params=["local folder", "s3 stand-in"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    if request.param == "local folder":
        return LocalFolderStore(tmp_path / "artifacts")
    return artifact_store(request.getfixturevalue("settings"))


def image_file(folder: Path, size: int, seed: int, name: str = "image.bin") -> tuple[Path, bytes, str]:
    data = random.Random(seed).randbytes(size)
    path = folder / f"{seed}-{name}"
    path.write_bytes(data)
    return path, data, hashlib.sha256(data).hexdigest()


class TestStoreContract:
    def test_published_files_exist_and_read_back_byte_identical(self, store, tmp_path):
        image, data, sha = image_file(tmp_path, 700_000, 1)
        hex_file, hex_data, _ = image_file(tmp_path, 1000, 2, "firmware.hex")
        assert not store.exists(sha)
        store.publish(sha, {APP_IMAGE: image, HEX_IMAGE: hex_file})
        assert store.exists(sha) and store.exists(sha, HEX_IMAGE)
        stream = store.read(sha)
        assert stream.length == len(data)
        assert stream.read_all() == data
        assert store.read(sha, HEX_IMAGE).read_all() == hex_data
        assert download_name(store, type("Image", (), {"sha256": sha})()) == HEX_IMAGE

    def test_publishing_the_same_image_twice_keeps_one_copy(self, store, tmp_path):
        image, data, sha = image_file(tmp_path, 5000, 3)
        store.publish(sha, {APP_IMAGE: image})
        store.publish(sha, {APP_IMAGE: image})
        assert store.read(sha).read_all() == data
        assert not store.exists(sha, HEX_IMAGE)

    @pytest.mark.parametrize(
        "start,stop", [(0, 1), (100, 200_000), (299_999, 300_000), (123_456, None), (0, None), (300_000, None)]
    )
    def test_ranges_read_exactly_their_bytes(self, store, tmp_path, start, stop):
        image, data, sha = image_file(tmp_path, 300_000, 4)
        store.publish(sha, {APP_IMAGE: image})
        stream = store.read(sha, APP_IMAGE, start, stop)
        assert stream.length == len(data[start:stop])
        assert stream.read_all() == data[start:stop]

    def test_missing_object_is_a_clear_error(self, store):
        sha = hashlib.sha256(b"never published").hexdigest()
        with pytest.raises(ArtifactMissing, match=f"{sha[:2]}/{sha}/firmware.bin is missing"):
            store.read(sha)
        assert not store.exists(sha)

    def test_bytes_under_another_hash_are_refused_and_nothing_is_stored(self, store, tmp_path):
        image, _, sha = image_file(tmp_path, 4096, 5)
        claimed = hashlib.sha256(b"something else").hexdigest()
        with pytest.raises(ArtifactCorrupt, match=f"SHA-256 is {sha}, not {claimed}"):
            store.publish(claimed, {APP_IMAGE: image})
        assert not store.exists(claimed) and not store.exists(sha)

    def test_an_artifact_without_its_app_image_is_refused(self, store, tmp_path):
        hex_file, _, sha = image_file(tmp_path, 100, 6, "firmware.hex")
        with pytest.raises(ArtifactCorrupt, match="app image"):
            store.publish(sha, {HEX_IMAGE: hex_file})
        assert not store.exists(sha, HEX_IMAGE)


class TestS3Layout:
    def test_objects_are_content_addressed_under_the_prefix(self, settings, s3_standin, bucket, tmp_path):
        image, data, sha = image_file(tmp_path, 2048, 7)
        artifact_store(settings).publish(sha, {APP_IMAGE: image})
        stored = s3_client(s3_standin.access()).get_object(
            Bucket=bucket, Key=f"classroom/artifacts/{sha[:2]}/{sha}/firmware.bin"
        )
        assert stored["Body"].read() == data

    def test_unreachable_store_is_a_503_error_not_a_hang(self, settings, tmp_path):
        closed = settings.with_overrides(s3_endpoint_url=f"http://127.0.0.1:{free_port()}", artifact_store_timeout_s=1)
        store = artifact_store(closed)
        image, _, sha = image_file(tmp_path, 100, 9)
        for action in (
            lambda: store.exists(sha),
            lambda: store.read(sha),
            lambda: store.publish(sha, {APP_IMAGE: image}),
        ):
            with pytest.raises(StoreUnavailable, match="could not") as raised:
                action()
            assert raised.value.status == 503


class TestConfiguration:
    def test_s3_store_and_the_standard_aws_variables(self):
        settings = load_settings(
            {
                "WEBIDE_ARTIFACT_STORE": "s3://fleet/webide",
                "AWS_ENDPOINT_URL": "http://minio.lan:9000",
                "AWS_DEFAULT_REGION": "eu-west-1",
                "AWS_ACCESS_KEY_ID": "key",
                "AWS_SECRET_ACCESS_KEY": "secret",
            }
        )
        access = settings.s3_access()
        assert (access.endpoint_url, access.region, access.access_key_id) == (
            "http://minio.lan:9000",
            "eu-west-1",
            "key",
        )
        assert access.secret_access_key == "secret" and "secret" not in repr(settings) + repr(access)

    def test_the_s3_specific_endpoint_wins(self):
        environ = {"AWS_ENDPOINT_URL": "http://general", "AWS_ENDPOINT_URL_S3": "http://s3-only"}
        assert load_settings(environ).s3_endpoint_url == "http://s3-only"

    @pytest.mark.parametrize(
        "environ,message",
        [
            ({"WEBIDE_ARTIFACT_STORE": "s3://"}, "must name a bucket"),
            ({"WEBIDE_ARTIFACT_STORE": "s3:///prefix"}, "must name a bucket"),
            (
                {"WEBIDE_ARTIFACT_STORE": "s3://fleet", "WEBIDE_X_ACCEL_REDIRECT_PREFIX": "/internal"},
                "needs a local artifact store",
            ),
        ],
    )
    def test_unusable_store_settings_are_refused(self, environ, message):
        with pytest.raises(ConfigError, match=message):
            load_settings(environ)

    def test_default_is_the_data_folder(self, tmp_path):
        store = artifact_store(Settings(data_dir=tmp_path))
        assert isinstance(store, LocalFolderStore) and store.root == tmp_path / "artifacts"
        assert os.fspath(store.local_file("ab" * 32)).startswith(os.fspath(tmp_path / "artifacts" / "ab"))


class TestDoctor:
    def test_doctor_names_the_store_and_checks_that_it_answers(self, settings, bucket, tmp_path):
        assert check_artifact_store(settings) == Check(
            "artifact store", True, f"S3Store(s3://{bucket}/classroom/artifacts)"
        )
        assert check_artifact_store(Settings(data_dir=tmp_path)).detail == f"LocalFolderStore('{tmp_path}/artifacts')"

    def test_doctor_reports_an_unreachable_bucket_with_the_fix(self, settings):
        closed = settings.with_overrides(s3_endpoint_url=f"http://127.0.0.1:{free_port()}", artifact_store_timeout_s=1)
        check = check_artifact_store(closed)
        assert not check.ok and "could not look up an artifact" in check.detail and "AWS_ENDPOINT_URL" in check.fix


class TestDevicePathOnS3:
    """The firmware URL served from S3; TestFirmwareDownload and TestRanges above are the folder store's own tests."""

    def test_missing_object_is_a_clear_404(self, app, settings, s3_standin, bucket):
        token = Accounts(app).bot("bot_m", "12345", fqbn=ESP32_FQBN).device_token
        image = deploy_image(app, "bot_m", size=16 * 1024, seed=11)
        store = artifact_store(settings)
        assert isinstance(store, S3Store)
        s3_client(s3_standin.access()).delete_object(Bucket=bucket, Key=store.key(image.sha256, APP_IMAGE))
        response = app.test_client().get("/bot_m.ino.bin", headers={**STOCK_HEADERS, **bearer(token)})
        assert response.status_code == 404
        assert "missing on the server" in response.get_json()["error"]

    def test_store_down_is_a_503_and_the_check_still_answers(self, app, settings):
        token = Accounts(app).bot("bot_d", "12345", fqbn=ESP32_FQBN).device_token
        image = deploy_image(app, "bot_d", size=16 * 1024, seed=12)
        down = create_app(
            settings.with_overrides(s3_endpoint_url=f"http://127.0.0.1:{free_port()}", artifact_store_timeout_s=1)
        )
        migrate_database(down)
        client = down.test_client()
        auth = {**STOCK_HEADERS, **bearer(token)}
        assert client.get("/bot_d.ino.bin", headers=auth).status_code == 503
        assert client.get("/bot_d.ino.bin", headers={**auth, "x-ESP32-sketch-md5": image.md5}).status_code == 304
        assert client.get("/api/ota/bot_d/check", headers=auth).get_json()["md5"] == image.md5
