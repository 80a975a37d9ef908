// JSON bodies the device sends: heartbeats and OTA status reports.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace webide {

/** Writes one flat JSON object into a caller-owned buffer; any overflow makes finish() fail. */
class JsonWriter {
 public:
  JsonWriter(char* buffer, size_t capacity);

  JsonWriter& addString(const char* key, const char* value);
  JsonWriter& addInteger(const char* key, int64_t value);
  JsonWriter& addNumber(const char* key, double value);  // non-finite values are left out: JSON has none

  /** Closes the object; returns its length, or 0 when it did not fit. */
  size_t finish();

 private:
  void put(char c);
  void putRaw(const char* text);
  void putQuoted(const char* text);
  void putKey(const char* key);

  char* buffer_;
  size_t capacity_;
  size_t length_;
  bool overflow_;
  bool firstField_;
};

struct SensorReading {
  const char* name;
  double value;
};

struct HeartbeatInfo {
  const char* firmwareVersion;
  const char* sketchMd5;
  const char* sketchSha256;
  uint32_t freeHeap;
  uint32_t uptimeSeconds;
  int32_t rssi;
  const char* ip;
  const char* mac;
  const SensorReading* sensors;
  size_t sensorCount;
};

/** Heartbeat body; sensor names that would shadow a standard field are dropped. Returns length or 0. */
size_t buildHeartbeatJson(const HeartbeatInfo& info, char* out, size_t capacity);

enum class OtaStatus : uint8_t { Started, InProgress, Success, Failed };

/** Body of POST /api/ota/<product_id>/status; progress is clamped to 0..100. Returns length or 0. */
size_t buildStatusJson(OtaStatus status, int progress, const char* message, char* out, size_t capacity);

}  // namespace webide
