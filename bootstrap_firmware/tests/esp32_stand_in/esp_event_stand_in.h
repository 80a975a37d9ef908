// Stand-in (syntax check only) for ESP-IDF 5 components/esp_common/include/esp_err.h and
// components/esp_event/include/esp_event_base.h.
#pragma once
#include <stdint.h>

typedef int esp_err_t;
#define ESP_OK 0
#define ESP_FAIL -1
typedef const char* esp_event_base_t;
typedef void (*esp_event_handler_t)(void* event_handler_arg, esp_event_base_t event_base, int32_t event_id,
                                    void* event_data);
