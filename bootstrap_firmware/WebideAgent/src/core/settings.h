// Device settings entered in the setup portal, their validation, and safe HTML output of user text.
#pragma once

#include <stddef.h>

namespace webide {

struct DeviceSettings {
  char ssid[33];
  char password[64];
  char server[129];
  char productId[65];
  char token[129];
  char signingKey[97];  // base64 P-256 public key from the first-flash kit; "" on bots provisioned before signing
};

enum class SettingsError {
  None,
  SsidLength,
  PasswordLength,
  ServerUrl,
  ProductId,
  TokenMissing,
};

/** Checks what the portal form submitted before anything is written to NVS. */
SettingsError validateSettings(const DeviceSettings& settings);

/** A sentence for the portal page explaining the error. */
const char* settingsErrorMessage(SettingsError error);

/** Copies `source` into `destination` (always terminated); false when it had to be cut. */
bool copyText(char* destination, size_t capacity, const char* source);

/**
 * HTML-escapes text (SSIDs from a Wi-Fi scan are chosen by strangers) into `out`. Never cuts an entity in
 * half; returns false when the text had to be shortened.
 */
bool escapeHtml(const char* text, char* out, size_t capacity);

}  // namespace webide
