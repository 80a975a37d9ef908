#!/bin/sh
# Mosquitto in its own container: wait until the bridge has written the password and ACL files, run the broker,
# and send it SIGHUP whenever the files change (the bridge cannot signal a process in another container).
set -eu
CONFIG=${MOSQUITTO_CONFIG:-/mosquitto/config/mosquitto.conf}
FILES_DIR=${MOSQUITTO_FILES_DIR:-/data/mosquitto}
CHECK_EVERY_S=${MOSQUITTO_CHECK_EVERY_S:-2}

until [ -r "$FILES_DIR/passwd" ] && [ -r "$FILES_DIR/acl" ]; do
  echo "waiting for the bridge to write $FILES_DIR/passwd and acl"
  sleep "$CHECK_EVERY_S"
done

fingerprint() { cat "$FILES_DIR/passwd" "$FILES_DIR/acl" 2>/dev/null | md5sum; }

mosquitto -c "$CONFIG" &
broker=$!
trap 'kill -TERM "$broker" 2>/dev/null' TERM INT
seen=$(fingerprint)
while kill -0 "$broker" 2>/dev/null; do
  sleep "$CHECK_EVERY_S" &
  wait $! || true
  now=$(fingerprint)
  if [ "$now" != "$seen" ]; then
    seen=$now
    kill -HUP "$broker"
  fi
done
wait "$broker"
