// STAND-IN for the agent's ESP32 layer (bootstrap_firmware/WebideAgent/src/platform/), tests only: the stand-in
// core has no Wi-Fi, HTTPUpdate or NVS. The rest of the library - AgentLinkWrap.cpp and src/core/ - is the real
// code, so a build with the arduino-cli stand-in compiles the library recursively and links the real wrappers.
#include <Arduino.h>
#include <esp_random.h>

#include "../WebideAgent.h"
#include "../core/urls.h"
#include "../link_hooks.h"

volatile int webide_stand_in_agent_started = 0;

namespace webide {

void onSketchSetup() {
  // Uses src/core/ as the real agent does, so the link proves src/core/ was compiled into the build.
  char url[96];
  const bool built = buildEndpointUrl("http://10.0.0.2:5000", Endpoint::Firmware, "esp_1", url, sizeof url);
  webide_stand_in_agent_started = built ? 1 + static_cast<int>(esp_random() % 2) : -1;
}

void onSketchLoop() {}

void reportSensor(const char* name, double value) {
  (void)name;
  (void)value;
}

}  // namespace webide
