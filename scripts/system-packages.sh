#!/usr/bin/env bash
# Installs the Debian packages webide needs (when missing). Usage: scripts/system-packages.sh run|test
set -euo pipefail

RUN_PACKAGES=(redis-server mosquitto bubblewrap python3 python3-serial arduino-builder arduino-core-avr gcc-avr avr-libc arduino-ctags clang-format)
TEST_PACKAGES=(g++ libssl-dev mosquitto-clients nodejs simavr chromium chromium-driver nginx-light postgresql)

packages=("${RUN_PACKAGES[@]}")
if [ "${1:-run}" = "test" ]; then
  packages+=("${TEST_PACKAGES[@]}")
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
# Debian ships npm (which installs the front end's lint tools) apart from nodejs; some nodejs builds include it.
if [ "${1:-run}" = "test" ] && ! command -v npm >/dev/null 2>&1 && ! dpkg-query -W -f='${Status}' npm 2>/dev/null | grep -q "install ok installed"; then
  missing+=(npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Install them as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
