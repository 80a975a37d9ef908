// A host stand-in for the two layers of the Arduino-ESP32 3.x core the serial tee sits between, in two parts as on
// the real core: HardwareSerial (cores/esp32/HardwareSerial.cpp, which calls the UART layer) and the UART layer
// (cores/esp32/esp32-hal-uart.c, in fake_uart.cpp, another object file, so the linker's --wrap applies).
#include <stdarg.h>
#include <stdio.h>

#include "Arduino.h"

HardwareSerial::HardwareSerial(uint8_t uart_nr) : _uart_nr(uart_nr), _uart(nullptr) {}

extern "C" uart_t* fakeUartBegin(int number);

void HardwareSerial::begin(unsigned long) { _uart = fakeUartBegin(_uart_nr); }

size_t HardwareSerial::write(uint8_t c) {
  uartWrite(_uart, c);
  return 1;
}

size_t HardwareSerial::write(const uint8_t* buffer, size_t size) {
  uartWriteBuf(_uart, buffer, size);
  return size;
}

size_t HardwareSerial::printf(const char* format, ...) {
  char text[256];
  va_list args;
  va_start(args, format);
  const int length = vsnprintf(text, sizeof text, format, args);
  va_end(args);
  return length > 0 ? write(reinterpret_cast<const uint8_t*>(text), static_cast<size_t>(length)) : 0;
}

size_t HardwareSerial::println(const char* text) {
  const size_t length = write(reinterpret_cast<const uint8_t*>(text), strlen(text));
  return length + write(reinterpret_cast<const uint8_t*>("\r\n"), 2);
}

int HardwareSerial::available() { return static_cast<int>(uartAvailable(_uart)); }

int HardwareSerial::peek() { return available() ? uartPeek(_uart) : -1; }

int HardwareSerial::read() {
  uint8_t c = 0;
  return uartReadBytes(_uart, &c, 1, 0) == 1 ? c : -1;
}

HardwareSerial Serial0(0);
HardwareSerial Serial1(1);

unsigned long millis() { return 0; }
void vPortEnterCritical(portMUX_TYPE*) {}
void vPortExitCritical(portMUX_TYPE*) {}
