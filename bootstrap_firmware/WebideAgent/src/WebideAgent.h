// webide OTA agent for ESP32.
//
// Every build the webide server makes for an ESP32 bot links this library and wraps the sketch's
// setup()/loop() (see AgentLinkWrap.cpp), so sketches need no OTA code. Including this header is
// optional; it only adds the sensor API below.
#pragma once

namespace webide {

/**
 * Adds or updates a numeric reading sent with every heartbeat (e.g. "distance_cm"); the server keeps
 * unknown numeric heartbeat fields as sensor readings. Up to 8 names; later names are ignored.
 * Safe to call from the sketch's loop while the agent runs on its own task.
 */
void reportSensor(const char* name, double value);

}  // namespace webide
