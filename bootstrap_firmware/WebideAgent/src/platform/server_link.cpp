#include "server_link.h"

#include <WiFiClientSecure.h>
#include <string.h>

namespace webide {

namespace {

const uint16_t kHttpTimeoutMs = 10000;

// Downloads get their own connections: status reports are posted from the progress callbacks while the
// image is still streaming in.
WiFiClient plainClients[2];
WiFiClientSecure secureClients[2];
const int kReportSlot = 0;
const int kDownloadSlot = 1;

WiFiClient& clientFor(const char* url, int slot) {
  if (strncmp(url, "https://", 8) != 0) return plainClients[slot];
  // No CA store is configured on the device; TLS still keeps the token off the air.
  secureClients[slot].setInsecure();
  return secureClients[slot];
}

/** Reads a reply body only when the server declared a length that fits the bounded parsers. */
bool readBoundedBody(HTTPClient& http, char* out, size_t capacity) {
  out[0] = '\0';
  const int size = http.getSize();
  if (size < 0 || static_cast<size_t>(size) >= capacity || static_cast<size_t>(size) > kMaxServerReplyBytes) {
    return false;
  }
  const String body = http.getString();
  return copyText(out, capacity, body.c_str());
}

#if ESP_ARDUINO_VERSION_MAJOR < 3
/** "http://host/..." -> "http://<product>:<token>@host/..." for cores whose HTTPUpdate cannot set headers. */
String withBasicCredentials(const char* url, const DeviceSettings& settings) {
  const String text(url);
  const int schemeEnd = text.indexOf("://");
  if (schemeEnd < 0) return text;
  return text.substring(0, schemeEnd + 3) + settings.productId + ":" + settings.token + "@" +
         text.substring(schemeEnd + 3);
}
#endif

}  // namespace

ServerLink::ServerLink(const DeviceSettings& settings, const char* runningMd5)
    : settings_(settings), runningMd5_(runningMd5) {}

void ServerLink::authorize(HTTPClient& http) {
  const String bearer = String("Bearer ") + settings_.token;
  http.addHeader("Authorization", bearer);
}

int ServerLink::postJson(Endpoint endpoint, const char* body, char* reply, size_t replyCapacity) {
  char url[256];
  if (!buildEndpointUrl(settings_.server, endpoint, settings_.productId, url, sizeof url)) return -1;
  HTTPClient http;
  http.setTimeout(kHttpTimeoutMs);
  if (!http.begin(clientFor(url, kReportSlot), url)) return -1;
  authorize(http);
  http.addHeader("Content-Type", "application/json");
  const int code = http.POST(reinterpret_cast<uint8_t*>(const_cast<char*>(body)), strlen(body));
  if (reply != nullptr && replyCapacity > 0 && !readBoundedBody(http, reply, replyCapacity)) reply[0] = '\0';
  http.end();
  return code;
}

JsonError ServerLink::fetchManifest(Manifest& manifest) {
  char url[256];
  if (!buildEndpointUrl(settings_.server, Endpoint::Check, settings_.productId, url, sizeof url)) {
    return JsonError::Syntax;
  }
  HTTPClient http;
  http.setTimeout(kHttpTimeoutMs);
  if (!http.begin(clientFor(url, kReportSlot), url)) return JsonError::Syntax;
  authorize(http);
  http.addHeader("x-ESP32-sketch-md5", runningMd5_);
  const int code = http.GET();
  static char body[kMaxServerReplyBytes + 1];
  const bool haveBody = code == 200 && readBoundedBody(http, body, sizeof body);
  http.end();
  if (!haveBody) return code == 200 ? JsonError::TooLarge : JsonError::Syntax;
  return parseManifest(body, strlen(body), manifest);
}

HTTPUpdateResult ServerLink::pullFirmware(HTTPUpdate& updater, const char* url) {
  updater.rebootOnUpdate(false);
#if ESP_ARDUINO_VERSION_MAJOR >= 3
  HTTPClient http;
  http.setTimeout(kHttpTimeoutMs);
  if (!http.begin(clientFor(url, kDownloadSlot), url)) return HTTP_UPDATE_FAILED;
  authorize(http);
  return updater.update(http, runningMd5_);
#else
  return updater.update(clientFor(url, kDownloadSlot), withBasicCredentials(url, settings_), runningMd5_);
#endif
}

}  // namespace webide
