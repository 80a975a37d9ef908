// STAND-IN core for the arduino-cli stand-in (tests only): a tiny Arduino API compiled with the host g++.
// Like Arduino-ESP32's cores/esp32/Arduino.h it includes the board's sdkconfig.h and pins_arduino.h and
// declares setup()/loop() with C++ linkage, so their symbols are _Z5setupv/_Z4loopv as on the real core.
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include "sdkconfig.h"
#include "esp32-hal-gpio.h"

#ifdef __cplusplus
#include "HardwareSerial.h"
#include "pins_arduino.h"

typedef bool boolean;
typedef uint8_t byte;

void delay(uint32_t ms);
unsigned long millis();

void setup(void);
void loop(void);
#endif
