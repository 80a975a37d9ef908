// Stand-in (syntax check only) for Arduino-ESP32 3.x cores/esp32/Arduino.h, esp32-hal-gpio.h, esp32-hal-misc.c,
// esp_arduino_version.h, Esp.h and WString.h: only what src/platform/ uses.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "freertos_stand_in.h"

#define ESP_ARDUINO_VERSION_MAJOR 3  // esp_arduino_version.h
#define HIGH 0x1                     // esp32-hal-gpio.h
#define LOW 0x0
#define INPUT_PULLUP 0x05
#define OUTPUT 0x03
#define LED_BUILTIN 2  // variants/esp32/pins_arduino.h

void pinMode(uint8_t pin, uint8_t mode);  // esp32-hal-gpio.h
void digitalWrite(uint8_t pin, uint8_t val);
int digitalRead(uint8_t pin);
unsigned long millis();  // esp32-hal.h
void delay(uint32_t ms);

class String {  // WString.h
 public:
  String(const char* text = "");
  const char* c_str() const;
};

class EspClass {  // Esp.h
 public:
  void restart();
  uint32_t getFreeHeap();
  String getSketchMD5();
};
extern EspClass ESP;

#include "HardwareSerial.h"
#define CONFIG_MBEDTLS_CERTIFICATE_BUNDLE 1  // sdkconfig.h of Arduino-ESP32 3.x (tools/esp32-arduino-libs/*/include/sdkconfig.h)
