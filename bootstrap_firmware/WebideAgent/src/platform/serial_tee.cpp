// The serial tee, entered through the linker like setup()/loop(): extras/esp32_link_flags.txt wraps the functions of
// the core's UART layer (cores/esp32/esp32-hal-uart.c) that HardwareSerial calls, so every print of the sketch, and
// every Serial read, passes through here on its way. Wrapping HardwareSerial's own methods would miss most output:
// print()/println() reach write() through the vtable, which HardwareSerial.cpp fills inside its own object file,
// where --wrap does not apply. The UART functions are called from HardwareSerial.cpp, another object file.
//
// Modelled on Arduino-ESP32 3.x cores/esp32/HardwareSerial.cpp (write(c) -> uartWrite(_uart, c),
// write(buf, n) -> uartWriteBuf(_uart, buf, n), available() -> uartAvailable(_uart), peek() -> uartPeek(_uart),
// read() and read(buf, n) -> uartReadBytes(_uart, buf, n, 0), readBytes() -> uartReadBytes(..., timeout)) and
// cores/esp32/esp32-hal-uart.h for the signatures. 2.x has the same four of them; uartPeek and uartRead are
// referenced weakly, so a core without them links too.
//
// Only the UART behind the sketch's `Serial` is teed (other UARTs talk to sensors, not to people). With
// ARDUINO_USB_CDC_ON_BOOT, Serial is the USB port, which is not a HardwareSerial: nothing is teed then.
#include "serial_tee.h"

#include <Arduino.h>
#include <HardwareSerial.h>
#include <esp32-hal-uart.h>

#include "../core/live_link.h"

#ifndef WEBIDE_SERIAL_LINES_PER_S
#define WEBIDE_SERIAL_LINES_PER_S 20  // the server's own budget per bot (WEBIDE_DEVICE_LOG_LINES_PER_S)
#endif

namespace webide {

namespace {

portMUX_TYPE teeLock = portMUX_INITIALIZER_UNLOCKED;
LineBuffer printed(WEBIDE_SERIAL_LINES_PER_S, 4 * WEBIDE_SERIAL_LINES_PER_S);
SerialInput typed;

/** HardwareSerial keeps its UART handle protected; a derived class may name it (and read it from any instance). */
struct SerialHandle : HardwareSerial {
  static uart_t* of(HardwareSerial& port) { return port.*(&SerialHandle::_uart); }
};

bool isSketchSerial(uart_t* uart) {
#if ARDUINO_USB_CDC_ON_BOOT
  (void)uart;
  return false;
#else
  return uart != nullptr && uart == SerialHandle::of(Serial);
#endif
}

void tee(const uint8_t* data, size_t length) {
  const uint32_t nowMs = millis();
  portENTER_CRITICAL(&teeLock);
  for (size_t i = 0; i < length; ++i) printed.write(data[i], nowMs);
  portEXIT_CRITICAL(&teeLock);
}

int typedAvailable() {
  portENTER_CRITICAL(&teeLock);
  const int count = typed.available();
  portEXIT_CRITICAL(&teeLock);
  return count;
}

}  // namespace

size_t takeSerialLines(char* out, size_t capacity) {
  portENTER_CRITICAL(&teeLock);
  const size_t length = printed.takeBatch(out, capacity);
  portEXIT_CRITICAL(&teeLock);
  return length;
}

size_t serialLinesQueued() {
  portENTER_CRITICAL(&teeLock);
  const size_t queued = printed.queuedBytes();
  portEXIT_CRITICAL(&teeLock);
  return queued;
}

uint32_t serialLinesDropped() {
  portENTER_CRITICAL(&teeLock);
  const uint32_t dropped = printed.droppedLines();
  portEXIT_CRITICAL(&teeLock);
  return dropped;
}

bool pushSerialInput(const char* line) {
  portENTER_CRITICAL(&teeLock);
  const bool queued = typed.push(line);
  portEXIT_CRITICAL(&teeLock);
  return queued;
}

}  // namespace webide

extern "C" {

void __real_uartWrite(uart_t* uart, uint8_t c);
void __real_uartWriteBuf(uart_t* uart, const uint8_t* data, size_t len);
uint32_t __real_uartAvailable(uart_t* uart);
size_t __real_uartReadBytes(uart_t* uart, uint8_t* buffer, size_t size, uint32_t timeout_ms);
uint8_t __real_uartPeek(uart_t* uart) __attribute__((weak));
uint8_t __real_uartRead(uart_t* uart) __attribute__((weak));

void __wrap_uartWrite(uart_t* uart, uint8_t c) {
  __real_uartWrite(uart, c);
  if (webide::isSketchSerial(uart)) webide::tee(&c, 1);
}

void __wrap_uartWriteBuf(uart_t* uart, const uint8_t* data, size_t len) {
  __real_uartWriteBuf(uart, data, len);
  if (data != nullptr && webide::isSketchSerial(uart)) webide::tee(data, len);
}

uint32_t __wrap_uartAvailable(uart_t* uart) {
  const uint32_t received = __real_uartAvailable(uart);
  if (!webide::isSketchSerial(uart)) return received;
  return received + static_cast<uint32_t>(webide::typedAvailable());
}

// Lines from the server come first: they were sent before whatever is typed on the USB cable now.
size_t __wrap_uartReadBytes(uart_t* uart, uint8_t* buffer, size_t size, uint32_t timeout_ms) {
  if (buffer == nullptr || size == 0 || !webide::isSketchSerial(uart) || webide::typedAvailable() == 0) {
    return __real_uartReadBytes(uart, buffer, size, timeout_ms);
  }
  size_t count = 0;
  portENTER_CRITICAL(&webide::teeLock);
  while (count < size && webide::typed.available() > 0) buffer[count++] = static_cast<uint8_t>(webide::typed.read());
  portEXIT_CRITICAL(&webide::teeLock);
  if (count < size) count += __real_uartReadBytes(uart, buffer + count, size - count, 0);
  return count;
}

uint8_t __wrap_uartPeek(uart_t* uart) {
  if (webide::isSketchSerial(uart)) {
    portENTER_CRITICAL(&webide::teeLock);
    const int next = webide::typed.peek();
    portEXIT_CRITICAL(&webide::teeLock);
    if (next >= 0) return static_cast<uint8_t>(next);
  }
  return __real_uartPeek != nullptr ? __real_uartPeek(uart) : 0;
}

uint8_t __wrap_uartRead(uart_t* uart) {
  if (webide::isSketchSerial(uart)) {
    portENTER_CRITICAL(&webide::teeLock);
    const int next = webide::typed.read();
    portEXIT_CRITICAL(&webide::teeLock);
    if (next >= 0) return static_cast<uint8_t>(next);
  }
  return __real_uartRead != nullptr ? __real_uartRead(uart) : 0;
}

}  // extern "C"
