// Device settings and update bookkeeping in NVS, so one firmware build serves a whole class.
#pragma once

#include <stddef.h>

#include "../core/settings.h"

namespace webide {

/** The outputs the server may switch (led, relay commands); -1: none. */
struct OutputPins {
  int led;
  int relay;
};

class DeviceStore {
 public:
  /** Loads what the portal saved; false when Wi-Fi or server settings are missing or invalid. */
  bool loadSettings(DeviceSettings& out);

  bool saveSettings(const DeviceSettings& settings);

  /** Overrides `pins` with the stored "ledpin" / "relaypin" (int32) when present; the build's defaults otherwise. */
  void loadOutputPins(OutputPins& pins);

  /** Drops the Wi-Fi name and password but keeps server, product ID and token. */
  void forgetWifi();

  /** MD5 of the image that installed an update not yet confirmed; "" when none is outstanding. */
  void loadMd5BeforeUpdate(char* out, size_t capacity);
  void saveMd5BeforeUpdate(const char* md5);
};

}  // namespace webide
