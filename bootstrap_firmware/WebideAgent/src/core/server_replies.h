// The two JSON replies a device reads: the update manifest and the heartbeat answer.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "flat_json.h"

namespace webide {

/** GET /api/ota/<product_id>/check */
struct Manifest {
  bool updateAvailable;
  char latestVersion[72];
  char currentVersion[72];
  char url[256];
  char md5[33];
  char sha256[65];
  uint32_t size;
  char signature[97];  // base64 ECDSA P-256 (r || s) over the image's SHA-256; "" when the server sent none
};

/** POST /api/devices/<product_id>/heartbeat */
struct HeartbeatReply {
  bool success;
  bool updateAvailable;
  JsonSpan commands;  // "commands": the open commands of a bot off the live link, each one parseCommand object
  char mqttUrl[129];  // "mqtt": the broker of the live link (mqtt://host:port); "" when the server has none
};

/**
 * Parses and validates a manifest: when an update is offered it must name a URL, a 32-digit MD5 and a size,
 * so the device never starts a download it could not verify.
 */
JsonError parseManifest(const char* text, size_t length, Manifest& out);

/**
 * Parses the heartbeat answer; `update_available`, `commands` and `mqtt` are optional (older servers omit them). A
 * broker address that is not a plain mqtt:// or mqtts:// URL (see validBrokerUrl) is left out (""), never tried;
 * it does not make the reply itself bad, which would cost a bot on probation its new firmware.
 */
JsonError parseHeartbeatReply(const char* text, size_t length, HeartbeatReply& out);

/** True when the manifest offers an image different from the one running (compared by MD5). */
bool manifestOffersNewImage(const Manifest& manifest, const char* runningMd5);

}  // namespace webide
