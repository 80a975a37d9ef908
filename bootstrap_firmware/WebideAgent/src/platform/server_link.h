// HTTP calls from the device to the webide server, all authenticated with the device token.
#pragma once

#include <HTTPUpdate.h>
#include <stddef.h>

#include "../core/reports.h"
#include "../core/server_replies.h"
#include "../core/settings.h"
#include "../core/urls.h"

namespace webide {

class ServerLink {
 public:
  ServerLink(const DeviceSettings& settings, const char* runningMd5);

  /** POSTs a JSON body; the reply (when small enough) lands in `reply`. Returns the HTTP code, <0 on errors. */
  int postJson(Endpoint endpoint, const char* body, char* reply, size_t replyCapacity);

  /** GET /api/ota/<id>/check, sending the running sketch's MD5 like HTTPUpdate does. */
  JsonError fetchManifest(Manifest& manifest);

  /**
   * Pulls an image with the stock HTTPUpdate client (which sends the x-ESP32-* headers and checks
   * 0xE9, size and x-MD5 itself). The caller installs progress callbacks on `updater`.
   */
  HTTPUpdateResult pullFirmware(HTTPUpdate& updater, const char* url);

 private:
  void authorize(HTTPClient& http);

  const DeviceSettings& settings_;
  const char* runningMd5_;
};

}  // namespace webide
