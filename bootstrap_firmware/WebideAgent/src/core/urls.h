// Server endpoint URLs built from the configured server base and product ID.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace webide {

enum class Endpoint : uint8_t { Firmware, Check, Status, Heartbeat, Results, Logs };

/** True for an http:// or https:// URL with a non-empty host. */
bool isHttpUrl(const char* url);

/**
 * Writes e.g. "http://host:5000/bot_001.ino.bin" for Endpoint::Firmware. Trailing slashes of the server are
 * ignored and the product ID is percent-encoded, so it can never add path segments. False if it does not fit.
 */
bool buildEndpointUrl(const char* server, Endpoint endpoint, const char* productId, char* out, size_t capacity);

/**
 * Resolves a URL handed out by the server (e.g. the manifest's "url"): absolute http(s) URLs are kept,
 * absolute paths ("/x") are joined to the server's scheme://host:port. Anything else is refused.
 */
bool resolveServerUrl(const char* server, const char* reference, char* out, size_t capacity);

}  // namespace webide
