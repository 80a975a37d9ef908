// Stand-in (syntax check only) for Arduino-ESP32 3.x cores/esp32/esp32-hal-uart.h.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
struct uart_struct_t;
typedef struct uart_struct_t uart_t;
uint32_t uartAvailable(uart_t* uart);
size_t uartReadBytes(uart_t* uart, uint8_t* buffer, size_t size, uint32_t timeout_ms);
uint8_t uartRead(uart_t* uart);
uint8_t uartPeek(uart_t* uart);
void uartWrite(uart_t* uart, uint8_t c);
void uartWriteBuf(uart_t* uart, const uint8_t* data, size_t len);
#ifdef __cplusplus
}
#endif
