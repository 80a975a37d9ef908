// Tiny Arduino API used by the arduino-cli stand-in so sketches get real gcc diagnostics on the host.
#pragma once
#include <stdint.h>
#include <stddef.h>

#define HIGH 1
#define LOW 0
#define INPUT 0
#define OUTPUT 1
#define INPUT_PULLUP 2
#define LED_BUILTIN 2

typedef bool boolean;
typedef uint8_t byte;

void pinMode(uint8_t pin, uint8_t mode);
void digitalWrite(uint8_t pin, uint8_t value);
int digitalRead(uint8_t pin);
int analogRead(uint8_t pin);
void delay(unsigned long ms);
unsigned long millis();

class HardwareSerial {
 public:
  void begin(unsigned long baud);
  size_t print(const char* text);
  size_t print(long value);
  size_t println(const char* text = "");
  size_t println(long value);
};
extern HardwareSerial Serial;

void setup();
void loop();
