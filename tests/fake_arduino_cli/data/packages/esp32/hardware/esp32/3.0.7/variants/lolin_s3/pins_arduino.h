// Stand-in variant header (tests only).
#pragma once
#include <stdint.h>
static const uint8_t LED_BUILTIN = 38;
#define LED_BUILTIN LED_BUILTIN
static const uint8_t TX = 1;
static const uint8_t RX = 3;
