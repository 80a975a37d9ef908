"""`webide backup` and `webide restore`: a round trip on SQLite and PostgreSQL, and archives that must be refused."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from webide import create_app
from webide.cli import main
from webide.config import Settings
from webide.extensions import db
from webide.models import Artifact, Build, Deployment, Device, SketchRevision, User

from .conftest import bearer, service_env
from .ota_support import ESP32_FQBN, deploy_image

SKETCH = "void setup() {}\nvoid loop() { /* kept by the backup */ }\n"


def run_cli(settings: Settings, *args: str, ok: bool = True):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(main, list(args), env=service_env(settings), catch_exceptions=False)
    assert (result.exit_code == 0) == ok, result.output
    return result


def counts(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return {
            model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (User, Device, SketchRevision, Build, Artifact, Deployment)
        }


def populate(app, client, accounts) -> dict:  # type: ignore[no-untyped-def]
    """A small classroom: an instructor, two bots, a saved sketch, builds and a deployed image."""
    accounts.instructor("teacher", "correct horse", classes=("lab-1",))
    bot = accounts.bot("bot_bk", "12345", class_name="lab-1", fqbn=ESP32_FQBN)
    accounts.bot("bot_other", "54321", class_name="lab-1")
    token = accounts.api_token(client, product_id="bot_bk", password="12345")
    current = client.get("/api/devices/bot_bk/sketch", headers=bearer(token)).get_json()
    saved = client.put(
        "/api/devices/bot_bk/sketch",
        headers=bearer(token),
        json={
            "files": [{"name": "bot_bk.ino", "content": SKETCH}],
            "base_revision": current["revision"],
            "explicit": True,
        },
    )
    assert saved.status_code == 200, saved.get_json()
    firmware = deploy_image(app, "bot_bk", size=48 * 1024, seed=11)
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.product_id == "bot_bk"))
        db.session.add(Build(device_id=device.id, revision=1, fqbn=ESP32_FQBN, status="complete", log="ok"))
        db.session.add(Build(device_id=device.id, revision=1, fqbn=ESP32_FQBN, status="pending"))
        db.session.commit()
    return {"device_token": bot.device_token, "firmware": firmware}


def wipe(settings: Settings) -> None:
    """Lose everything: the data folder and every table."""
    app = create_app(settings)
    with app.app_context():
        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        db.engine.dispose()
    shutil.rmtree(settings.data_dir)


def test_backup_wipe_restore_brings_everything_back_and_the_bot_gets_the_same_firmware(
    app, client, accounts, settings, tmp_path
):
    made = populate(app, client, accounts)
    before = counts(app)
    archive = tmp_path / "backups" / "webide.tar.gz"
    assert "backup written to" in run_cli(settings, "backup", str(archive)).output
    with app.app_context():
        db.engine.dispose()
    wipe(settings)

    assert "restored" in run_cli(settings, "restore", "--yes", str(archive)).output
    restored = create_app(settings)
    assert counts(restored) == before
    with restored.app_context():
        pending = db.session.scalar(select(Build).where(Build.status != "complete", Build.log == ""))
        assert pending.status == "error", "a queued build's queue entry was in Redis: it is failed, not left hanging"
    client = restored.test_client()
    token = accounts.api_token(client, product_id="bot_bk", password="12345")
    sketch = client.get("/api/devices/bot_bk/sketch", headers=bearer(token)).get_json()
    assert sketch["files"][0]["content"] == SKETCH
    accounts.api_token(client, username="teacher", password="correct horse")
    download = client.get("/bot_bk.ino.bin", headers=bearer(made["device_token"]))
    assert download.status_code == 200
    assert download.headers["x-MD5"] == made["firmware"].md5
    assert download.data == made["firmware"].data
    with restored.app_context():  # new rows get fresh ids after the restored ones (PostgreSQL sequences)
        db.session.add(Build(device_id=1, revision=1, fqbn=ESP32_FQBN, status="complete"))
        db.session.commit()
        db.engine.dispose()


@pytest.fixture
def backed_up(app, client, accounts, settings, tmp_path) -> Path:  # type: ignore[no-untyped-def]
    populate(app, client, accounts)
    archive = tmp_path / "good.tar.gz"
    run_cli(settings, "backup", str(archive))
    return archive


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


def write_archive(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def tampered(backed_up: Path, tmp_path: Path) -> Path:
    files = members(backed_up)
    name = next(name for name in files if name.startswith("database/devices"))
    files[name] = files[name].replace(b"bot_bk", b"bot_xx")
    return write_archive(tmp_path / "tampered.tar.gz", files)


def truncated(backed_up: Path, tmp_path: Path) -> Path:
    data = backed_up.read_bytes()
    path = tmp_path / "truncated.tar.gz"
    path.write_bytes(data[: len(data) // 2])
    return path


def foreign(_backed_up: Path, tmp_path: Path) -> Path:
    return write_archive(tmp_path / "foreign.tar.gz", {"etc/passwd": b"root:x:0:0::/root:/bin/sh\n"})


def smuggled(backed_up: Path, tmp_path: Path) -> Path:
    files = members(backed_up)
    files["artifacts/../../evil"] = b"x"
    return write_archive(tmp_path / "smuggled.tar.gz", files)


def other_format(backed_up: Path, tmp_path: Path) -> Path:
    files = members(backed_up)
    manifest = json.loads(files["manifest.json"])
    manifest["version"] = 99
    files["manifest.json"] = json.dumps(manifest).encode()
    return write_archive(tmp_path / "future.tar.gz", files)


def not_gzip(_backed_up: Path, tmp_path: Path) -> Path:
    path = tmp_path / "plain.tar.gz"
    path.write_bytes(gzip.compress(b"just some text, not a tar archive" * 20))
    return path


@pytest.mark.parametrize(
    "make,reason",
    [
        (tampered, "damaged (its SHA-256 does not match"),
        (truncated, "not a readable webide backup"),
        (foreign, "not a webide backup"),
        (smuggled, "which its manifest does not name"),
        (other_format, "format version 99 is not supported"),
        (not_gzip, "not a readable webide backup"),
    ],
)
def test_a_bad_archive_is_refused_and_nothing_changes(app, settings, backed_up, tmp_path, make, reason):
    bad = make(backed_up, tmp_path)
    with app.app_context():
        db.session.execute(text("UPDATE devices SET name = 'changed after the backup'"))
        db.session.commit()
    before = counts(app)
    artifacts_before = sorted(p.relative_to(settings.artifacts_dir) for p in settings.artifacts_dir.rglob("*"))
    key_before = (settings.data_dir / "secret_key").read_bytes()
    result = run_cli(settings, "restore", "--yes", str(bad), ok=False)
    assert "nothing was changed" in result.output and reason in result.output, result.output
    assert counts(app) == before
    with app.app_context():
        names = set(db.session.scalars(select(Device.name)).all())
    assert names == {"changed after the backup"}
    assert sorted(p.relative_to(settings.artifacts_dir) for p in settings.artifacts_dir.rglob("*")) == artifacts_before
    assert (settings.data_dir / "secret_key").read_bytes() == key_before
    assert not list(settings.data_dir.glob(".restore-*")), "the staging folder is removed"
    assert not (settings.data_dir.parent / "evil").exists()


def test_restore_asks_before_replacing_everything(settings, backed_up):
    result = CliRunner().invoke(main, ["restore", str(backed_up)], input="n\n", env=service_env(settings))
    assert result.exit_code == 1 and "Aborted" in result.output
