// STAND-IN core (tests only).
#include "esp32-hal-gpio.h"

static uint8_t pin_levels[64];

void pinMode(uint8_t pin, uint8_t mode) { (void)pin; (void)mode; }
void digitalWrite(uint8_t pin, uint8_t val) { pin_levels[pin % 64] = val; }
int digitalRead(uint8_t pin) { return pin_levels[pin % 64]; }
