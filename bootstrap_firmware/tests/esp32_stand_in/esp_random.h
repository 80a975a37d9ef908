// Stand-in (syntax check only) for ESP-IDF 5 components/esp_hw_support/include/esp_random.h.
#pragma once
#include <stdint.h>

extern "C" uint32_t esp_random(void);
