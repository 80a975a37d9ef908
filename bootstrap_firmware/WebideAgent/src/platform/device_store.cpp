#include "device_store.h"

#include <Preferences.h>

namespace webide {

namespace {

const char* const kNamespace = "webide";
const char* const kSsidKey = "ssid";
const char* const kPasswordKey = "pass";
const char* const kServerKey = "server";
const char* const kProductKey = "product";
const char* const kTokenKey = "token";
const char* const kSigningKeyKey = "signkey";  // written only by the first-flash kit
const char* const kMd5BeforeKey = "md5_before";
const char* const kLedPinKey = "ledpin";
const char* const kRelayPinKey = "relaypin";
const int32_t kMaxPin = 63;

void readString(Preferences& preferences, const char* key, char* out, size_t capacity) {
  out[0] = '\0';
  if (preferences.isKey(key)) preferences.getString(key, out, capacity);
}

}  // namespace

bool DeviceStore::loadSettings(DeviceSettings& out) {
  Preferences preferences;
  if (!preferences.begin(kNamespace, true)) {
    memset(&out, 0, sizeof out);
    return false;
  }
  readString(preferences, kSsidKey, out.ssid, sizeof out.ssid);
  readString(preferences, kPasswordKey, out.password, sizeof out.password);
  readString(preferences, kServerKey, out.server, sizeof out.server);
  readString(preferences, kProductKey, out.productId, sizeof out.productId);
  readString(preferences, kTokenKey, out.token, sizeof out.token);
  readString(preferences, kSigningKeyKey, out.signingKey, sizeof out.signingKey);
  preferences.end();
  return validateSettings(out) == SettingsError::None;
}

void DeviceStore::loadOutputPins(OutputPins& pins) {
  Preferences preferences;
  if (!preferences.begin(kNamespace, true)) return;
  if (preferences.isKey(kLedPinKey)) {
    const int32_t pin = preferences.getInt(kLedPinKey, pins.led);
    if (pin >= -1 && pin <= kMaxPin) pins.led = pin;
  }
  if (preferences.isKey(kRelayPinKey)) {
    const int32_t pin = preferences.getInt(kRelayPinKey, pins.relay);
    if (pin >= -1 && pin <= kMaxPin) pins.relay = pin;
  }
  preferences.end();
}

bool DeviceStore::saveSettings(const DeviceSettings& settings) {
  Preferences preferences;
  if (!preferences.begin(kNamespace, false)) return false;
  const bool saved = preferences.putString(kSsidKey, settings.ssid) > 0 &&
                     preferences.putString(kPasswordKey, settings.password) == strlen(settings.password) &&
                     preferences.putString(kServerKey, settings.server) > 0 &&
                     preferences.putString(kProductKey, settings.productId) > 0 &&
                     preferences.putString(kTokenKey, settings.token) > 0;
  preferences.end();
  return saved;
}

void DeviceStore::forgetWifi() {
  Preferences preferences;
  if (!preferences.begin(kNamespace, false)) return;
  preferences.remove(kSsidKey);
  preferences.remove(kPasswordKey);
  preferences.end();
}

void DeviceStore::loadMd5BeforeUpdate(char* out, size_t capacity) {
  out[0] = '\0';
  Preferences preferences;
  if (!preferences.begin(kNamespace, true)) return;
  readString(preferences, kMd5BeforeKey, out, capacity);
  preferences.end();
}

void DeviceStore::saveMd5BeforeUpdate(const char* md5) {
  Preferences preferences;
  if (!preferences.begin(kNamespace, false)) return;
  if (md5[0] == '\0') {
    preferences.remove(kMd5BeforeKey);
  } else {
    preferences.putString(kMd5BeforeKey, md5);
  }
  preferences.end();
}

}  // namespace webide
