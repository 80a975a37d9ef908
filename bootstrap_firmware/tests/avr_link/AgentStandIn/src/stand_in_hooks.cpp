// AVR stand-in of the agent's hooks. The test copies the real AgentLinkWrap.cpp next to this file.
#include <Arduino.h>
#include <avr/sleep.h>

#include "link_hooks.h"

namespace {
const uint8_t kLoopsBeforeStop = 3;
uint8_t loopsSeen = 0;
}  // namespace

namespace webide {

void onSketchSetup() {
  Serial.begin(9600);
  Serial.println("agent hook: before setup");
}

void onSketchLoop() {
  if (loopsSeen == kLoopsBeforeStop) {
    // Sleeping with interrupts off ends the simulation cleanly.
    Serial.flush();
    cli();
    sleep_cpu();
  }
  ++loopsSeen;
  Serial.println("agent hook: before loop");
}

}  // namespace webide
