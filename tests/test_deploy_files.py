"""Docker deployment files: no Docker engine runs here, so check what can be checked without one."""

from __future__ import annotations

import json
import re
import shlex

import pytest
import yaml
from click.testing import CliRunner

from webide.cli import main

from .conftest import ROOT


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_file_parses_and_runs_web_worker_and_redis_with_a_data_volume():
    services = compose()["services"]
    assert {"web", "worker", "redis"} <= set(services)
    for name in ("web", "worker"):
        assert services[name]["environment"]["WEBIDE_DATA_DIR"] == "/data"
        assert any(volume.endswith(":/data") for volume in services[name]["volumes"])
        assert services[name]["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert "webide-data" in compose()["volumes"]


@pytest.mark.parametrize("service", ["web", "worker"])
def test_compose_commands_name_real_entry_points(service):
    command = compose()["services"][service]["command"]
    assert command[0] == "webide"
    result = CliRunner().invoke(main, [*command[1:], "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: main " + command[1] in result.output


def test_dockerfile_copies_existing_paths_and_pins_versions():
    text = (ROOT / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (\S+(?: \S+)*) \S+$", text, flags=re.M):
        for path in shlex.split(source):
            assert (ROOT / path).exists(), f"Dockerfile copies missing {path}"
    assert re.search(r"^ARG ARDUINO_CLI_VERSION=\d+\.\d+\.\d+$", text, flags=re.M)
    assert re.search(r"^ARG ESP32_CORE_VERSION=\d+\.\d+\.\d+$", text, flags=re.M)
    assert 'core install "esp32:esp32@${ESP32_CORE_VERSION}"' in text
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", text, flags=re.M).group(1))
    assert CliRunner().invoke(main, [*cmd[1:], "--help"]).exit_code == 0
