"""File → Examples: the API, and every example passes the compiler's rules, Auto Format, and a real AVR compile."""

from __future__ import annotations

import pytest

from compiler import Compiler, SketchFile
from webide.config import Settings
from webide.core.examples import CATALOGUE, EXAMPLES_DIR, example_files
from webide.core.formatting import format_source
from webide.core.toolchain import compiler_config

from .conftest import AVR_FQBN, bearer, traversable

EXAMPLE_IDS = [example.id for example in CATALOGUE]


@pytest.fixture
def token(client, accounts) -> str:  # type: ignore[no-untyped-def]
    accounts.bot("bot_001", "12345")
    accounts.bot("bot_002", "12345")
    return accounts.api_token(client, product_id="bot_001", password="12345")


def test_the_examples_menu_lists_the_starter_sketches(client, token):
    response = client.get("/api/examples", headers=bearer(token))
    examples = response.get_json()["examples"]
    assert [e["id"] for e in examples] == ["Blink", "SerialHello", "WiFiScan", "Button", "PwmMotor"]
    assert all(e["title"] and e["description"] for e in examples)


def test_the_catalogue_matches_the_example_folders():
    assert sorted(p.name for p in EXAMPLES_DIR.iterdir() if p.is_dir()) == sorted(EXAMPLE_IDS)


def test_an_example_comes_with_its_main_file_first(client, token):
    body = client.get("/api/examples/PwmMotor", headers=bearer(token)).get_json()
    assert [f["name"] for f in body["files"]] == ["PwmMotor.ino", "Motor.cpp", "Motor.h"]
    assert body["files"][0]["content"] == (EXAMPLES_DIR / "PwmMotor" / "PwmMotor.ino").read_text()


def test_an_example_can_be_fetched_ready_for_a_bot(client, token):
    body = client.get("/api/examples/Blink?product_id=bot_001", headers=bearer(token)).get_json()
    assert [f["name"] for f in body["files"]] == ["bot_001.ino"]
    assert "digitalWrite(LED_PIN, HIGH)" in body["files"][0]["content"]


def test_examples_for_another_bot_or_unknown_ids_are_404(client, token):
    assert client.get("/api/examples/Blink?product_id=bot_002", headers=bearer(token)).status_code == 404
    assert client.get("/api/examples/NoSuchThing", headers=bearer(token)).status_code == 404
    assert client.get("/api/examples/..%2F..%2Fconfig", headers=bearer(token)).status_code == 404


def test_examples_need_a_login(client):
    assert client.get("/api/examples").status_code == 401


@pytest.fixture(scope="module")
def avr_compiler(tmp_path_factory: pytest.TempPathFactory) -> Compiler:
    """One compiler for the module, so the compiled Arduino core is reused between the examples."""
    folder = traversable(tmp_path_factory.mktemp("examples"))
    settings = Settings(data_dir=folder, toolchain="arduino-builder", default_fqbn=AVR_FQBN)
    return Compiler(compiler_config(settings))


def sketch(example_id: str, main_name: str | None = None) -> list[SketchFile]:
    return [SketchFile(f["name"], f["content"]) for f in example_files(example_id, main_name)]


@pytest.mark.parametrize("example_id", EXAMPLE_IDS)
def test_every_example_follows_the_compilers_sketch_rules(avr_compiler, example_id):
    avr_compiler.validate(example_id, sketch(example_id))
    avr_compiler.validate("bot_001", sketch(example_id, "bot_001.ino"))


@pytest.mark.parametrize("example_id", EXAMPLE_IDS)
def test_every_example_is_already_auto_formatted(example_id):
    for sketch_file in sketch(example_id):
        formatted = format_source(sketch_file.name, sketch_file.content, "clang-format", 512 * 1024)
        assert formatted == sketch_file.content, sketch_file.name


@pytest.mark.slow
@pytest.mark.parametrize("example_id", EXAMPLE_IDS)
def test_every_example_compiles_for_an_arduino_uno(avr_compiler, example_id):
    # WiFiScan is ESP32-only; its ESP32 code sits behind #ifdef ESP32, so on an Uno it compiles to a notice.
    result = avr_compiler.build("bot_001", sketch(example_id, "bot_001.ino"), AVR_FQBN)
    assert result.ok, result.log[-3000:]
    assert result.size > 0
    assert not [d for d in result.diagnostics if d.severity == "error"]
