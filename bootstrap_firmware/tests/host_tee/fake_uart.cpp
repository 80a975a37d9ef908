// The UART layer of the host stand-in: it counts the bytes written to each UART (printed at exit), and UART 0
// "receives" the text "usb\n" as if typed on the cable.
#include <stdio.h>
#include <string.h>

#include "esp32-hal-uart.h"

struct uart_struct_t {
  int number;
};

namespace {
uart_struct_t uarts[2] = {{0}, {1}};
const char* received = "usb\n";
size_t receivedAt = 0;
size_t written[2] = {0, 0};
}  // namespace

extern "C" {

uart_t* fakeUartBegin(int number) { return &uarts[number]; }

size_t fakeUartWritten(int number) { return written[number]; }

void uartWrite(uart_t* uart, uint8_t) { ++written[uart->number]; }

void uartWriteBuf(uart_t* uart, const uint8_t*, size_t len) { written[uart->number] += len; }

uint32_t uartAvailable(uart_t* uart) { return uart->number == 0 ? strlen(received) - receivedAt : 0; }

size_t uartReadBytes(uart_t* uart, uint8_t* buffer, size_t size, uint32_t) {
  size_t count = 0;
  while (count < size && uartAvailable(uart) > 0) buffer[count++] = static_cast<uint8_t>(received[receivedAt++]);
  return count;
}

uint8_t uartPeek(uart_t* uart) { return uartAvailable(uart) > 0 ? static_cast<uint8_t>(received[receivedAt]) : 0; }

uint8_t uartRead(uart_t* uart) {
  uint8_t c = 0;
  return uartReadBytes(uart, &c, 1, 0) == 1 ? c : 0;
}
}
