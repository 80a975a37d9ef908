// STAND-IN core (tests only).
#pragma once
#include <stddef.h>

class HardwareSerial {
 public:
  void begin(unsigned long baud);
  size_t print(const char* text);
  size_t print(long value);
  size_t println(const char* text = "");
  size_t println(long value);
};
extern HardwareSerial Serial;
