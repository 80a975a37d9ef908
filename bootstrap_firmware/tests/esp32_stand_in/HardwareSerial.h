// Stand-in (syntax check only) for Arduino-ESP32 3.x cores/esp32/HardwareSerial.h (and Print/Stream's printf,
// println): the UART handle is a protected member `uart_t* _uart`, and `Serial` is Serial0 without USB CDC on boot.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "esp32-hal-uart.h"

class HardwareSerial {
 public:
  explicit HardwareSerial(uint8_t uart_nr);
  void begin(unsigned long baud);
  size_t printf(const char* format, ...) __attribute__((format(printf, 2, 3)));
  size_t println(const char* text);
  size_t write(uint8_t c);
  size_t write(const uint8_t* buffer, size_t size);
  int available();
  int peek();
  int read();

 protected:
  int _uart_nr;
  uart_t* _uart;
};

extern HardwareSerial Serial0;
extern HardwareSerial Serial1;
#if !ARDUINO_USB_CDC_ON_BOOT
#define Serial Serial0
#endif
