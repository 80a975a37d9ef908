// STAND-IN core (tests only). Like Arduino-ESP32's cores/esp32/main.cpp, app_main() runs the sketch's
// setup() once and then loop(); a host main() enters app_main() so the ELF links and runs on the host.
#include "Arduino.h"
#include "esp_random.h"

static unsigned long fake_clock_ms;

void delay(uint32_t ms) { fake_clock_ms += ms; }
unsigned long millis() { return fake_clock_ms; }

extern "C" uint32_t esp_random(void) { return 4; }

extern "C" void app_main() {
  setup();
  loop();
}

int main() {
  app_main();
  return 0;
}
