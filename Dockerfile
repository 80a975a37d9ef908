# webide with arduino-cli and the ESP32 core installed at build time. The user webide has uid/gid 10001, which the
# compose file's Mosquitto runs as too (it reads the 0600 password and ACL files the bridge writes).
#   docker build -t webide --build-arg ARDUINO_CLI_VERSION=1.1.1 --build-arg ESP32_CORE_VERSION=3.0.7 .
#   docker run --rm webide webide doctor --compile     # a real compile of Blink + the OTA agent
# arduino-cli finds its data folder, sketchbook and config file (/opt/arduino/arduino-cli.yaml) through
# ARDUINO_DIRECTORIES_DATA/USER; webide passes every ARDUINO_* variable on to arduino-cli and mounts the
# folders arduino-cli reports (`config get directories.data|user`) read-only into the build sandbox.
FROM python:3.11-slim-bookworm

ARG ARDUINO_CLI_VERSION=1.1.1
ARG ESP32_CORE_VERSION=3.0.7
ARG ESP32_INDEX_URL=https://espressif.github.io/arduino-esp32/package_esp32_index.json

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    WEBIDE_DATA_DIR=/data \
    ARDUINO_DIRECTORIES_DATA=/opt/arduino \
    ARDUINO_DIRECTORIES_USER=/opt/arduino/user

# python3 + python3-serial: Arduino-ESP32's recipes run `python3 esptool.py` (esptool imports pyserial) with the
# sandbox's PATH (/usr/bin:/bin), where this image's own Python (/usr/local/bin) is not.
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap clang-format ca-certificates curl redis-server \
      python3 python3-serial mosquitto \
 && rm -rf /var/lib/apt/lists/*

RUN curl -fsSL "https://downloads.arduino.cc/arduino-cli/arduino-cli_${ARDUINO_CLI_VERSION}_Linux_64bit.tar.gz" \
      | tar -xz -C /usr/local/bin arduino-cli \
 && arduino-cli config init --overwrite \
 && arduino-cli config set board_manager.additional_urls "${ESP32_INDEX_URL}" \
 && arduino-cli core update-index \
 && arduino-cli core install "esp32:esp32@${ESP32_CORE_VERSION}" \
 && mkdir -p /opt/arduino/user \
 && test -f /opt/arduino/inventory.yaml \
 && chmod -R a+rX /opt/arduino

WORKDIR /app
COPY pyproject.toml README.md ./
COPY webide ./webide
COPY compiler ./compiler
COPY templates ./templates
COPY static ./static
COPY bootstrap_firmware ./bootstrap_firmware
RUN pip install --no-cache-dir -e '.[postgres,s3]' \
 && groupadd --system --gid 10001 webide \
 && useradd --system --uid 10001 --gid 10001 --home /data webide \
 && mkdir -p /data && chown webide /data

USER webide
VOLUME /data
EXPOSE 5000
CMD ["webide", "web", "--host", "0.0.0.0", "--port", "5000"]
