// Host implementation of the stand-in Arduino API; compiled once per board and cached like a real core.
#include "Arduino.h"
#include <stdio.h>

static uint8_t pin_levels[64];
static unsigned long fake_clock_ms;

void pinMode(uint8_t, uint8_t) {}
void digitalWrite(uint8_t pin, uint8_t value) { pin_levels[pin % 64] = value; }
int digitalRead(uint8_t pin) { return pin_levels[pin % 64]; }
int analogRead(uint8_t pin) { return pin * 7 % 1024; }
void delay(unsigned long ms) { fake_clock_ms += ms; }
unsigned long millis() { return fake_clock_ms; }

void HardwareSerial::begin(unsigned long) {}
size_t HardwareSerial::print(const char* text) { return (size_t)printf("%s", text); }
size_t HardwareSerial::print(long value) { return (size_t)printf("%ld", value); }
size_t HardwareSerial::println(const char* text) { return (size_t)printf("%s\n", text); }
size_t HardwareSerial::println(long value) { return (size_t)printf("%ld\n", value); }
HardwareSerial Serial;

int main() {
  setup();
  loop();
  return 0;
}
