// STAND-IN core (tests only): the C part of the GPIO API, compiled by recipe.c.o.pattern.
#pragma once
#include <stdint.h>
#define HIGH 1
#define LOW 0
#define INPUT 0x01
#define OUTPUT 0x03
#define INPUT_PULLUP 0x05
#ifdef __cplusplus
extern "C" {
#endif
void pinMode(uint8_t pin, uint8_t mode);
void digitalWrite(uint8_t pin, uint8_t val);
int digitalRead(uint8_t pin);
#ifdef __cplusplus
}
#endif
