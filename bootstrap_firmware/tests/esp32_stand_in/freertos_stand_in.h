// Stand-in (syntax check only) for ESP-IDF 5 freertos/FreeRTOS.h, freertos/task.h and
// components/esp_hw_support/include/spinlock.h / portmacro.h (portMUX_TYPE, portENTER_CRITICAL).
#pragma once
#include <stdint.h>

typedef struct {
  uint32_t owner;
  uint32_t count;
} portMUX_TYPE;
#define portMUX_INITIALIZER_UNLOCKED {0xB33FFFFF, 0}
void vPortEnterCritical(portMUX_TYPE* mux);
void vPortExitCritical(portMUX_TYPE* mux);
#define portENTER_CRITICAL(mux) vPortEnterCritical(mux)
#define portEXIT_CRITICAL(mux) vPortExitCritical(mux)
typedef uint32_t TickType_t;
#define pdMS_TO_TICKS(ms) ((TickType_t)(ms))
void vTaskDelay(TickType_t ticks);
typedef void (*TaskFunction_t)(void*);
int xTaskCreate(TaskFunction_t task, const char* name, uint32_t stack, void* parameters, unsigned priority,
                void** handle);
