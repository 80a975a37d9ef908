// webide bootstrap: flash this once over USB. It is an empty sketch; the OTA agent runs next to it
// (linked in with the wrap flags, see ../README.md), opens the setup portal on first boot and from then
// on installs every upload from the webide server when the trigger button is pressed.
#include <WebideAgent.h>

void setup() {}

void loop() {
  delay(100);
}
