// STAND-IN core (tests only).
#include "Arduino.h"
#include <stdio.h>

void HardwareSerial::begin(unsigned long) {}
size_t HardwareSerial::print(const char* text) { return (size_t)printf("%s", text); }
size_t HardwareSerial::print(long value) { return (size_t)printf("%ld", value); }
size_t HardwareSerial::println(const char* text) { return (size_t)printf("%s\n", text); }
size_t HardwareSerial::println(long value) { return (size_t)printf("%ld\n", value); }
HardwareSerial Serial;
