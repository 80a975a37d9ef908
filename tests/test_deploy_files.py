"""Docker deployment files: no Docker engine runs here, so check what can be checked without one."""

from __future__ import annotations

import json
import os
import pwd
import re
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
import requests
import yaml
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from webide import create_app
from webide.cli import main
from webide.config import Settings
from webide.core.broker import BrokerFiles
from webide.core.builds.status import COMPLETE, end_build
from webide.core.registry import create_device, set_device_token
from webide.database import migrate_database
from webide.extensions import db
from webide.models import Build, Device, utcnow
from webide.runner import bridge_password, free_port

from .conftest import ROOT, live_processes, traversable
from .live import RoomListener
from .mqtt_probe import Probe, wait_until
from .ota_support import ESP32_FQBN, deploy_image, nginx_config, nginx_executable, private_nginx_http


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


# --- the production front: nginx, PostgreSQL, Redis, web and worker replicas, monitoring -------------------------

NGINX_FILE = ROOT / "deploy" / "nginx.conf"
# What the committed file names inside the compose network, and what stands in for it here.
NGINX_UPSTREAM = "server web:5000;"
NGINX_LISTEN = "listen 80;"
NGINX_ARTIFACTS = "alias /data/artifacts/;"


def local_nginx_http(app_url: str, artifacts: Path) -> Callable[[int], str]:
    """The committed nginx config with the compose names replaced by this machine's (each must be there once)."""
    text = NGINX_FILE.read_text()
    for needle in (NGINX_UPSTREAM, NGINX_LISTEN, NGINX_ARTIFACTS):
        assert text.count(needle) == 1, f"deploy/nginx.conf should contain {needle!r} once"

    def render(port: int) -> str:
        return (
            text.replace(NGINX_UPSTREAM, f"server {app_url.removeprefix('http://')};")
            .replace(NGINX_LISTEN, f"listen 127.0.0.1:{port};")
            .replace(NGINX_ARTIFACTS, f"alias {artifacts}/;")
        )

    return render


def test_committed_nginx_config_passes_nginx_t(tmp_path):
    folder = traversable(tmp_path)
    config = nginx_config(folder, local_nginx_http("http://127.0.0.1:5000", folder / "artifacts")(8080))
    result = subprocess.run(
        [nginx_executable(), "-t", "-c", str(config), "-p", str(folder), "-e", str(folder / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_compose_runs_nginx_postgres_redis_and_replicated_web_and_workers():
    config = compose()
    services = config["services"]
    assert {"nginx", "postgres", "redis", "web", "worker"} <= set(services)
    for name in ("web", "worker"):
        assert services[name]["deploy"]["replicas"] >= 2
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://") and "@postgres/" in env["DATABASE_URL"]
        assert env["WEBIDE_X_ACCEL_REDIRECT_PREFIX"] == "/internal-firmware"
        assert env["WEBIDE_METRICS_TOKEN"].startswith("${WEBIDE_METRICS_TOKEN:?")
        assert "ports" not in services[name], "only nginx is published; web replicas cannot share a host port"
    nginx = services["nginx"]
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in nginx["volumes"]
    assert "webide-data:/data:ro" in nginx["volumes"]
    assert "/internal-firmware/" in NGINX_FILE.read_text()
    for mounted in (*services["prometheus"]["volumes"], *services["grafana"]["volumes"]):
        source = mounted.split(":", 1)[0]
        assert not source.startswith("./") or (ROOT / source).exists(), f"compose mounts missing {source}"


def test_prometheus_scrape_example_targets_the_web_service_with_the_token():
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())["scrape_configs"][0]
    assert scrape["metrics_path"] == "/metrics"
    assert scrape["authorization"]["type"] == "Bearer"
    assert scrape["authorization"]["credentials_file"] == "/run/secrets/metrics_token"
    assert scrape["dns_sd_configs"][0]["names"] == ["web"] and scrape["dns_sd_configs"][0]["port"] == 5000
    assert compose()["secrets"]["metrics_token"]["environment"] == "WEBIDE_METRICS_TOKEN"


def dashboard_metric_names() -> set[str]:
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "webide-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert exprs, "the dashboard has queries"
    return {name for expr in exprs for name in re.findall(r"\bwebide_[a-z_]+", expr)}


def test_grafana_dashboard_queries_only_metrics_the_service_exposes(client, accounts, app):
    accounts.bot("bot_gf", "12345")
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.product_id == "bot_gf"))
        build = Build(device_id=device.id, revision=1, fqbn=device.fqbn, status="in_progress", started_at=utcnow())
        db.session.add(build)
        db.session.flush()
        end_build(build, COMPLETE, "done")
        db.session.commit()
    exposed = {
        sample.name
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for sample in family.samples
    }
    used = dashboard_metric_names()
    assert used - exposed == set(), f"the dashboard queries metrics that do not exist: {used - exposed}"
    assert {"webide_builds_total", "webide_firmware_bytes_total", "webide_bots_online"} <= used


def test_nginx_in_front_sends_firmware_by_x_accel_redirect_and_proxies_socketio(tmp_path, redis_url):
    """The compose front for real: the committed nginx config before gunicorn and a worker."""
    folder = traversable(tmp_path)
    url = redis_url.rsplit("/", 1)[0] + "/5"
    redis.Redis.from_url(url).flushdb()
    settings = Settings(
        data_dir=folder / "instance",
        redis_url=url,
        async_mode="threading",
        toolchain="arduino-builder",
        default_fqbn=ESP32_FQBN,
        x_accel_redirect_prefix="/internal-firmware",
        proxy_count=1,
    )
    app = create_app(settings)
    migrate_database(app)
    with app.app_context():
        token = create_device("bot_front", "12345", "", ESP32_FQBN, None).device_token
        db.session.commit()
    firmware = deploy_image(app, "bot_front", size=120 * 1024, seed=21)
    auth = {"Authorization": f"Bearer {token}"}
    env = {"WEBIDE_X_ACCEL_REDIRECT_PREFIX": "/internal-firmware", "WEBIDE_PROXY_COUNT": "1"}
    with (
        live_processes(settings, folder, **env) as live,
        private_nginx_http(local_nginx_http(live.base_url, settings.artifacts_dir.resolve())) as front,
    ):
        whole = requests.get(f"{front}/bot_front.ino.bin", headers=auth, timeout=30)
        assert whole.status_code == 200 and whole.content == firmware.data
        assert whole.headers["Content-Length"] == str(len(firmware.data))
        assert whole.headers["x-MD5"] == firmware.md5
        assert whole.headers["ETag"] == f'"{firmware.sha256}"'
        assert "X-Accel-Redirect" not in whole.headers

        part = requests.get(
            f"{front}/bot_front.ino.bin", headers={**auth, "Range": "bytes=100-199", "If-Range": whole.headers["ETag"]}
        )
        assert part.status_code == 206 and part.content == firmware.data[100:200]
        assert part.headers["Content-Range"] == f"bytes 100-199/{len(firmware.data)}"
        assert part.headers["x-MD5"] == firmware.md5
        stale = requests.get(f"{front}/bot_front.ino.bin", headers={**auth, "Range": "bytes=100-", "If-Range": '"old"'})
        assert stale.status_code == 200 and stale.content == firmware.data, "a changed image is sent whole"

        same = requests.get(f"{front}/bot_front.ino.bin", headers={**auth, "x-ESP32-sketch-md5": firmware.md5})
        assert same.status_code == 304
        assert requests.get(f"{front}/bot_front.ino.bin", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert requests.get(f"{front}/internal-firmware/", timeout=10).status_code == 404
        assert requests.get(f"{front}/metrics", timeout=10).status_code == 404
        assert requests.get(f"{front}/healthz", timeout=10).json() == {"success": True, "status": "ok"}

        login = requests.post(f"{front}/api/auth/login", json={"product_id": "bot_front", "password": "12345"})
        assert login.status_code == 200, login.text
        listener = RoomListener(front, login.json()["token"], "bot_front")
        try:
            assert listener.client is not None and listener.client.transport() == "websocket"
            beat = requests.post(f"{front}/api/devices/bot_front/heartbeat", headers=auth, json={"uptime": 5})
            assert beat.status_code == 200, beat.text
            listener.wait_for(lambda events: any(event["type"] == "device" for event in events))
        finally:
            listener.close()


# --- the live device link's broker in compose -------------------------------------------------------------------

MOSQUITTO_CONF = ROOT / "deploy" / "mosquitto.conf"
MOSQUITTO_RUN = ROOT / "deploy" / "mosquitto-run.sh"


def setting_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_compose_runs_the_bridge_and_mosquitto_on_the_shared_files():
    services = compose()["services"]
    bridge, broker = services["bridge"], services["mosquitto"]
    assert bridge["command"] == ["webide", "bridge"]
    assert bridge["environment"]["WEBIDE_MQTT_URL"].startswith("mqtt://_webide_bridge:${MQTT_BRIDGE_PASSWORD:?")
    assert bridge["environment"]["WEBIDE_MQTT_URL"].endswith("@mosquitto:1883")
    assert bridge["environment"]["REDIS_URL"] == services["web"]["environment"]["REDIS_URL"]
    assert "webide-data:/data" in bridge["volumes"] and "webide-data:/data:ro" in broker["volumes"]
    assert "1883:1883" in broker["ports"]
    for mounted in broker["volumes"]:
        source = mounted.split(":", 1)[0]
        assert not source.startswith("./") or (ROOT / source).exists(), f"compose mounts missing {source}"
    # The broker reads the 0600 files the image's webide user writes: the same uid on both sides.
    assert broker["user"] == "10001:10001"
    assert "--uid 10001" in (ROOT / "Dockerfile").read_text()


def test_the_committed_broker_config_is_the_generated_one_on_the_data_volume():
    generated = BrokerFiles(Path("/data/mosquitto")).config_text("0.0.0.0", 1883)
    # No pid file: the broker runs in its own container, where deploy/mosquitto-run.sh reloads it.
    expected = [line for line in setting_lines(generated) if not line.startswith("pid_file ")]
    assert setting_lines(MOSQUITTO_CONF.read_text()) == expected


def test_the_broker_script_waits_for_the_files_and_reloads_them_when_a_token_changes(app, accounts, settings):  # type: ignore[no-untyped-def]
    """deploy/mosquitto-run.sh with the real Mosquitto: it starts once the files exist, and a rotated token is
    refused after the bridge's next write, without a signal from the bridge."""
    bot = accounts.bot("bot_001")
    files = BrokerFiles(settings.mqtt_dir)
    settings.mqtt_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = settings.mqtt_dir / "compose-like.conf"
    config.write_text(files.config_text("127.0.0.1", port) + f"user {pwd.getpwuid(os.getuid()).pw_name}\n")
    env = dict(
        os.environ,
        MOSQUITTO_CONFIG=str(config),
        MOSQUITTO_FILES_DIR=str(settings.mqtt_dir),
        MOSQUITTO_CHECK_EVERY_S="0.2",
        PATH=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin",
    )
    log_path = settings.mqtt_dir / "compose-like.log"
    with log_path.open("wb") as log_file:
        script = subprocess.Popen(["sh", str(MOSQUITTO_RUN)], env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        with app.app_context():
            files.write(bridge_password(settings))
        old_token = bot.device_token

        def logs_in(token: str) -> bool:
            try:
                probe = Probe(port, "bot_001", token)
            except OSError:  # not listening yet
                return False
            try:
                return probe.connected()
            finally:
                probe.close()

        assert wait_until(lambda: logs_in(old_token), timeout=20), log_path.read_text()
        with app.app_context():
            device = db.session.scalar(select(Device).where(Device.product_id == "bot_001"))
            new_token = set_device_token(device)
            db.session.commit()
            files.write(bridge_password(settings))
        assert wait_until(lambda: not logs_in(old_token), timeout=20), "the rotated token still logs in"
        assert wait_until(lambda: logs_in(new_token), timeout=20)
    finally:
        script.terminate()
        try:
            script.wait(10)
        except subprocess.TimeoutExpired:
            script.kill()
            script.wait(5)
