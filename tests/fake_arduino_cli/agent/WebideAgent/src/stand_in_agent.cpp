// Stand-in for the OTA agent, for tests with the arduino-cli stand-in only. It is linked exactly like the real
// agent (the real library's extras/esp32_link_flags.txt and extras/webide_ota_agent.cpp are symlinked here), so a
// build proves the server wires the agent in; the symbol below shows the wrapped setup ran the hook.
#include "WebideAgent.h"

volatile int webide_agent_stand_in_started = 0;

extern "C" void __real__Z5setupv();
extern "C" void __real__Z4loopv();

extern "C" void __wrap__Z5setupv() {
  webide_agent_stand_in_started = 1;
  __real__Z5setupv();
}

extern "C" void __wrap__Z4loopv() {
  __real__Z4loopv();
}
