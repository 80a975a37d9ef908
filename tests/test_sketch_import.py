"""Importing a sketch: ZIP archives and single files, and every way a hostile archive is refused."""

from __future__ import annotations

import io
import stat
import struct
import warnings
import zipfile

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from .conftest import bearer

IMPORT = "/api/devices/bot_001/sketch/import"
SKETCH = "/api/devices/bot_001/sketch"
SETUP_LOOP = "void setup() {}\nvoid loop() {}\n"


def make_zip(entries: dict[str, bytes | str], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(
                zipfile.ZipInfo(name), data.encode() if isinstance(data, str) else data, compress_type=method
            )
    return buffer.getvalue()


def symlink_zip(name: str, target: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("sketch/sketch.ino", SETUP_LOOP)
        link = zipfile.ZipInfo(name)
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, target)
    return buffer.getvalue()


def understated_size_zip(real: bytes, declared: int) -> bytes:
    """A ZIP whose headers claim ``declared`` bytes for an entry that really inflates to ``len(real)``."""
    data = bytearray(make_zip({"sketch/sketch.ino": real}))
    for signature, size_offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = data.index(signature)
        struct.pack_into("<I", data, start + size_offset, declared)
    return bytes(data)


@pytest.fixture
def session(bot_session):  # type: ignore[no-untyped-def]
    bot_session.get(SKETCH)
    return bot_session


def upload(client, data: bytes, filename: str, **form: str):  # type: ignore[no-untyped-def]
    """POST a multipart body built in memory (the test client would spool a large one to a temp file that
    outlives a refused request)."""
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), filename), **form})
    return client.post(IMPORT, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def current_files(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {f["name"]: f["content"] for f in client.get(SKETCH).get_json()["files"]}


def test_arduino_folder_zip_replaces_the_sketch_and_renames_the_main_file(session):
    archive = make_zip(
        {
            "Robot/": b"",
            "Robot/Robot.ino": '#include "motor.h"\n' + SETUP_LOOP,
            "Robot/motor.h": "#pragma once\n",
            "Robot/motor.cpp": '#include "motor.h"\n',
        }
    )
    response = upload(session, archive, "Robot.zip")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["revision"] == 2
    assert [f["name"] for f in body["files"]] == ["bot_001.ino", "motor.cpp", "motor.h"]
    assert current_files(session)["bot_001.ino"].startswith('#include "motor.h"')
    history = session.get(f"{SKETCH}/revisions?limit=1").get_json()["revisions"][0]
    assert history["kind"] == "import" and "Robot.zip" in history["message"]


def test_flat_zip_with_one_ino_and_macos_metadata(session):
    archive = make_zip(
        {
            "program.ino": SETUP_LOOP,
            "util.h": "int u;\n",
            "__MACOSX/._program.ino": b"\x00\x05",
            ".DS_Store": b"\x00\x00\x00\x01Bud1",
            "._util.h": b"\x00",
        }
    )
    response = upload(session, archive, "download.zip")
    assert response.status_code == 200, response.get_json()
    assert current_files(session) == {"bot_001.ino": SETUP_LOOP, "util.h": "int u;\n"}


def test_zip_with_several_ino_picks_the_one_named_like_the_archive(session):
    archive = make_zip({"Robot.ino": SETUP_LOOP, "extras.ino": "void helper() {}\n"})
    assert upload(session, archive, "Robot.zip").status_code == 200
    assert current_files(session) == {"bot_001.ino": SETUP_LOOP, "extras.ino": "void helper() {}\n"}


def test_utf8_bom_is_dropped_and_text_kept(session):
    archive = make_zip({"s/s.ino": "\ufeff// grüße\n" + SETUP_LOOP})
    assert upload(session, archive, "s.zip").status_code == 200
    assert current_files(session)["bot_001.ino"] == "// grüße\n" + SETUP_LOOP


def test_single_ino_named_like_the_main_file_replaces_it(session):
    response = upload(session, ("// replaced\n" + SETUP_LOOP).encode(), "bot_001.ino")
    assert response.status_code == 200
    assert current_files(session) == {"bot_001.ino": "// replaced\n" + SETUP_LOOP}


def test_single_file_with_another_name_is_added_as_a_tab(session):
    before = current_files(session)
    assert upload(session, b"void extra() {}\n", "extra.ino").status_code == 200
    response = upload(session, b"#pragma once\n", "../../pins.h")
    assert response.status_code == 200, response.get_json()
    assert current_files(session) == {**before, "extra.ino": "void extra() {}\n", "pins.h": "#pragma once\n"}
    assert upload(session, b"#pragma once\n// v2\n", "pins.h").status_code == 200
    assert current_files(session)["pins.h"] == "#pragma once\n// v2\n"


def test_import_with_a_stale_base_revision_is_a_conflict(session):
    session.put(
        SKETCH, json={"files": [{"name": "bot_001.ino", "content": "// newer\n" + SETUP_LOOP}], "base_revision": 1}
    )
    response = upload(session, SETUP_LOOP.encode(), "bot_001.ino", base_revision="1")
    assert response.status_code == 409 and response.get_json()["current"]["revision"] == 2
    assert upload(session, SETUP_LOOP.encode(), "bot_001.ino", base_revision="2").status_code == 200
    assert upload(session, SETUP_LOOP.encode(), "bot_001.ino", base_revision="two").status_code == 400


def test_import_works_with_a_bearer_token(app, client, accounts):
    accounts.bot("bot_001", "12345")
    token = accounts.api_token(client, product_id="bot_001", password="12345")
    response = client.post(
        IMPORT,
        headers=bearer(token),
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(make_zip({"a.ino": SETUP_LOOP})), "a.zip")},
    )
    assert response.status_code == 200 and response.get_json()["files"][0]["name"] == "bot_001.ino"


def test_import_without_csrf_from_a_browser_is_refused(app, accounts):
    accounts.bot("bot_001", "12345")
    client = app.test_client()
    accounts.browser_login(client, "bot_001", "12345")
    assert upload(client, SETUP_LOOP.encode(), "bot_001.ino").status_code == 400


def duplicate_entry_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("s/s.ino", SETUP_LOOP)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns about the duplicate we are making on purpose
            archive.writestr("s/s.ino", "// second copy\n")
    return buffer.getvalue()


HOSTILE = [
    ("zip slip", make_zip({"../../etc/cron.d/x.ino": SETUP_LOOP}), 400, "outside the sketch folder"),
    ("zip slip inside", make_zip({"s/../../s.ino": SETUP_LOOP}), 400, "outside the sketch folder"),
    ("absolute", make_zip({"/tmp/s.ino": SETUP_LOOP}), 400, "absolute path"),
    ("drive letter", make_zip({"C:/s.ino": SETUP_LOOP}), 400, "drive letter"),
    ("backslash", make_zip({"s\\s.ino": SETUP_LOOP}), 400, "backslash"),
    ("backslash slip", make_zip({"..\\..\\s.ino": SETUP_LOOP}), 400, "backslash"),
    ("empty component", make_zip({"s//s.ino": SETUP_LOOP}), 400, "empty"),
    ("symlink", symlink_zip("sketch/link.h", "/etc/passwd"), 400, "symbolic link"),
    ("nested folder", make_zip({"s/s.ino": SETUP_LOOP, "s/src/a.cpp": ""}), 400, "sub-folder"),
    ("two top folders", make_zip({"a/a.ino": SETUP_LOOP, "b/b.h": ""}), 400, "sub-folder"),
    ("dot file", make_zip({"s/s.ino": SETUP_LOOP, "s/.env": "SECRET=1"}), 400, "hidden"),
    ("dot folder", make_zip({"s/s.ino": SETUP_LOOP, "s/.git/config": ""}), 400, "hidden"),
    ("duplicate", duplicate_entry_zip(), 400, "twice"),
    ("build_opt.h", make_zip({"s/s.ino": SETUP_LOOP, "s/build_opt.h": "-DEVIL"}), 400, "response file"),
    ("partitions.csv", make_zip({"s/s.ino": SETUP_LOOP, "s/partitions.csv": "nvs,data"}), 400, "partition"),
    ("binary", make_zip({"s/s.ino": SETUP_LOOP, "s/logo.bin": b"\x01"}), 400, "not allowed"),
    ("non-utf8", make_zip({"s/s.ino": "// caf\xe9\n".encode("latin-1") + SETUP_LOOP.encode()}), 400, "not UTF-8"),
    ("nul", make_zip({"s/s.ino": "void setup() {}\x00"}), 400, "NUL"),
    ("no ino", make_zip({"s/a.h": ""}), 400, "no .ino"),
    ("ambiguous ino", make_zip({"one.ino": SETUP_LOOP, "two.ino": SETUP_LOOP}), 400, "several .ino"),
    ("empty", make_zip({"s/": b""}), 400, "no files"),
    ("not a zip", b"PK\x03\x04 this is not really a zip", 400, "not a valid ZIP"),
]


@pytest.mark.parametrize("case,archive,status,needle", HOSTILE, ids=[case[0] for case in HOSTILE])
def test_hostile_or_broken_archives_are_refused_and_nothing_is_written(session, case, archive, status, needle):
    response = upload(session, archive, "upload.zip")
    assert response.status_code == status, response.get_json()
    assert needle in response.get_json()["error"]
    assert session.get(SKETCH).get_json()["revision"] == 1


def test_zip_bomb_by_compression_ratio_is_refused(session, settings):
    bomb = make_zip({"s/s.ino": b"\x20" * (settings.sketch_max_bytes - 1)})
    response = upload(session, bomb, "bomb.zip")
    assert response.status_code == 400 and "zip bomb" in response.get_json()["error"]
    assert session.get(SKETCH).get_json()["revision"] == 1


def test_zip_declaring_more_than_the_limit_is_413(session, settings):
    text = "".join(f"// line {n} of a long but honest file\n" for n in range(settings.sketch_max_bytes // 30))
    response = upload(session, make_zip({"s/s.ino": text}), "big.zip")
    assert response.status_code == 413 and "limit" in response.get_json()["error"]


def test_zip_lying_about_its_size_is_refused_while_reading(session):
    honest_looking = understated_size_zip(("// " + "ab" * 5000 + "\n" + SETUP_LOOP).encode(), declared=100)
    response = upload(session, honest_looking, "liar.zip")
    assert response.status_code in (400, 413)
    assert "sketch.ino" in response.get_json()["error"]
    assert session.get(SKETCH).get_json()["revision"] == 1


def test_too_many_files_is_413(session, settings):
    entries = {"s/s.ino": SETUP_LOOP, **{f"s/t{n}.h": "" for n in range(settings.sketch_max_files)}}
    response = upload(session, make_zip(entries), "many.zip")
    assert response.status_code == 413 and str(settings.sketch_max_files) in response.get_json()["error"]


def test_too_many_entries_of_any_kind_is_413(session, settings):
    entries = {"s/s.ino": SETUP_LOOP, **{f"__MACOSX/._t{n}": "" for n in range(settings.sketch_max_files * 5)}}
    assert upload(session, make_zip(entries), "meta.zip").status_code == 413


def test_single_file_import_checks(session, settings):
    assert "not UTF-8" in upload(session, b"\xff\xfe\x00x", "bot_001.ino").get_json()["error"]
    assert "unsupported extension" in upload(session, b"hello", "notes.txt").get_json()["error"]
    assert "response file" in upload(session, b"-DEVIL", "build_opt.h").get_json()["error"]
    big = upload(session, b"/" * (settings.sketch_max_bytes + 1), "bot_001.ino")
    assert big.status_code == 413
    assert session.post(IMPORT, data={}, content_type="multipart/form-data").status_code == 400
    assert session.get(SKETCH).get_json()["revision"] == 1


def test_upload_over_the_request_limit_is_413(session, settings):
    response = upload(session, b"x" * (settings.max_request_bytes + 1), "huge.zip")
    assert response.status_code == 413


def test_exported_zip_imports_back_unchanged(session):
    tabs = [
        {"name": "bot_001.ino", "content": "// round trip\n" + SETUP_LOOP},
        {"name": "pins.h", "content": "#define P 4\n"},
    ]
    session.put(SKETCH, json={"files": tabs, "base_revision": 1})
    exported = session.get("/api/devices/bot_001/sketch.zip").data
    upload(session, make_zip({"bot_001.ino": "// something else\n" + SETUP_LOOP}), "other.zip")
    assert upload(session, exported, "bot_001.zip").status_code == 200
    assert session.get(SKETCH).get_json()["files"] == tabs
