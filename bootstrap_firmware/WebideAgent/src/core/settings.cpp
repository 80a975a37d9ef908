#include "settings.h"

#include <string.h>

#include "urls.h"

namespace webide {

namespace {

bool isProductIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.';
}

bool isValidProductId(const char* productId) {
  if (productId[0] == '\0' || productId[0] == '.') return false;
  for (const char* p = productId; *p != '\0'; ++p) {
    if (!isProductIdChar(*p)) return false;
  }
  return true;
}

const char* htmlEntity(char c) {
  switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&#39;";
    default: return nullptr;
  }
}

}  // namespace

SettingsError validateSettings(const DeviceSettings& settings) {
  const size_t ssidLength = strnlen(settings.ssid, sizeof settings.ssid);
  if (ssidLength == 0 || ssidLength > 32) return SettingsError::SsidLength;
  const size_t passwordLength = strnlen(settings.password, sizeof settings.password);
  if (passwordLength != 0 && (passwordLength < 8 || passwordLength > 63)) return SettingsError::PasswordLength;
  if (!isHttpUrl(settings.server)) return SettingsError::ServerUrl;
  if (!isValidProductId(settings.productId)) return SettingsError::ProductId;
  if (settings.token[0] == '\0') return SettingsError::TokenMissing;
  return SettingsError::None;
}

const char* settingsErrorMessage(SettingsError error) {
  switch (error) {
    case SettingsError::None: return "Saved.";
    case SettingsError::SsidLength: return "The Wi-Fi name must be 1 to 32 characters.";
    case SettingsError::PasswordLength: return "The Wi-Fi password must be empty (open network) or 8 to 63 characters.";
    case SettingsError::ServerUrl: return "The server URL must start with http:// or https://.";
    case SettingsError::ProductId: return "The product ID may use letters, digits, '-', '_' and '.'.";
    case SettingsError::TokenMissing: return "The device token is required.";
  }
  return "Invalid settings.";
}

bool copyText(char* destination, size_t capacity, const char* source) {
  if (destination == nullptr || capacity == 0) return false;
  const char* text = source == nullptr ? "" : source;
  const size_t length = strlen(text);
  const size_t copied = length < capacity ? length : capacity - 1;
  memcpy(destination, text, copied);
  destination[copied] = '\0';
  return copied == length;
}

bool escapeHtml(const char* text, char* out, size_t capacity) {
  if (out == nullptr || capacity == 0) return false;
  size_t length = 0;
  out[0] = '\0';
  for (const char* p = text == nullptr ? "" : text; *p != '\0'; ++p) {
    const char* entity = htmlEntity(*p);
    const char single[2] = {*p, '\0'};
    const char* piece = entity != nullptr ? entity : single;
    const size_t pieceLength = strlen(piece);
    if (length + pieceLength >= capacity) return false;
    memcpy(out + length, piece, pieceLength + 1);
    length += pieceLength;
  }
  return true;
}

}  // namespace webide
