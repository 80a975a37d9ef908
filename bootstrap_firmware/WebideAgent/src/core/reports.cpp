#include "reports.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

namespace webide {

namespace {

const char* const kStandardHeartbeatKeys[] = {"fw", "md5", "sha256", "heap", "uptime", "rssi", "ip", "mac"};

bool isStandardHeartbeatKey(const char* name) {
  for (size_t i = 0; i < sizeof kStandardHeartbeatKeys / sizeof kStandardHeartbeatKeys[0]; ++i) {
    if (strcmp(name, kStandardHeartbeatKeys[i]) == 0) return true;
  }
  return false;
}

const char* statusName(OtaStatus status) {
  switch (status) {
    case OtaStatus::Started: return "STARTED";
    case OtaStatus::InProgress: return "IN_PROGRESS";
    case OtaStatus::Success: return "SUCCESS";
    case OtaStatus::Failed: return "FAILED";
  }
  return "FAILED";
}

}  // namespace

JsonWriter::JsonWriter(char* buffer, size_t capacity)
    : buffer_(buffer), capacity_(capacity), length_(0), overflow_(false), firstField_(true) {
  put('{');
}

void JsonWriter::put(char c) {
  if (buffer_ == nullptr || length_ + 1 >= capacity_) {
    overflow_ = true;
    return;
  }
  buffer_[length_++] = c;
  buffer_[length_] = '\0';
}

void JsonWriter::putRaw(const char* text) {
  while (*text != '\0') put(*text++);
}

void JsonWriter::putQuoted(const char* text) {
  static const char kHex[] = "0123456789abcdef";
  put('"');
  for (const char* p = text == nullptr ? "" : text; *p != '\0'; ++p) {
    const unsigned char c = static_cast<unsigned char>(*p);
    if (c == '"' || c == '\\') {
      put('\\');
      put(static_cast<char>(c));
    } else if (c == '\n') {
      putRaw("\\n");
    } else if (c == '\r') {
      putRaw("\\r");
    } else if (c == '\t') {
      putRaw("\\t");
    } else if (c < 0x20 || c == 0x7F) {
      putRaw("\\u00");
      put(kHex[c >> 4]);
      put(kHex[c & 0x0F]);
    } else {
      put(static_cast<char>(c));
    }
  }
  put('"');
}

void JsonWriter::putKey(const char* key) {
  if (!firstField_) put(',');
  firstField_ = false;
  putQuoted(key);
  put(':');
}

JsonWriter& JsonWriter::addString(const char* key, const char* value) {
  putKey(key);
  putQuoted(value);
  return *this;
}

JsonWriter& JsonWriter::addInteger(const char* key, int64_t value) {
  char digits[24];
  snprintf(digits, sizeof digits, "%lld", static_cast<long long>(value));
  putKey(key);
  putRaw(digits);
  return *this;
}

JsonWriter& JsonWriter::addNumber(const char* key, double value) {
  if (isnan(value) || isinf(value)) return *this;
  char digits[32];
  snprintf(digits, sizeof digits, "%.9g", value);
  putKey(key);
  putRaw(digits);
  return *this;
}

size_t JsonWriter::finish() {
  put('}');
  return overflow_ ? 0 : length_;
}

size_t buildHeartbeatJson(const HeartbeatInfo& info, char* out, size_t capacity) {
  JsonWriter writer(out, capacity);
  writer.addString("fw", info.firmwareVersion)
      .addString("md5", info.sketchMd5)
      .addInteger("heap", info.freeHeap)
      .addInteger("uptime", info.uptimeSeconds)
      .addInteger("rssi", info.rssi)
      .addString("ip", info.ip)
      .addString("mac", info.mac);
  if (info.sketchSha256 != nullptr && info.sketchSha256[0] != '\0') writer.addString("sha256", info.sketchSha256);
  for (size_t i = 0; i < info.sensorCount; ++i) {
    const SensorReading& reading = info.sensors[i];
    if (reading.name == nullptr || reading.name[0] == '\0' || isStandardHeartbeatKey(reading.name)) continue;
    writer.addNumber(reading.name, reading.value);
  }
  return writer.finish();
}

size_t buildStatusJson(OtaStatus status, int progress, const char* message, char* out, size_t capacity) {
  const int clamped = progress < 0 ? 0 : (progress > 100 ? 100 : progress);
  JsonWriter writer(out, capacity);
  writer.addString("status", statusName(status)).addInteger("progress", clamped).addString("message", message);
  return writer.finish();
}

}  // namespace webide
