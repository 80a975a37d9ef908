// The live link's MQTT client: a thin adapter over ESP-IDF's esp-mqtt (bundled with Arduino-ESP32 3.x). It carries
// out LiveSession's steps; every decision (when to connect, retry, publish) is made in src/core/live_session.cpp.
#pragma once

#include <stddef.h>

#include "../core/live_session.h"

namespace webide {

/** Whether this core has the esp-mqtt configuration this client is written against (ESP-IDF 5, Arduino-ESP32 3.x). */
bool liveLinkSupported();

class LiveLinkClient {
 public:
  /**
   * Creates and starts a client for `brokerUrl`, logged in with the product ID and device token, with the retained
   * last will {"online": false} on devices/<id>/status, and no reconnecting of its own. False when it could not.
   */
  bool start(const char* brokerUrl, const char* productId, const char* token);

  /** Stops and frees the client (never call from its event handler). */
  void stop();

  /** Subscribes to devices/<id>/command and /ota and says {"online": true} (retained) on status. */
  bool announce();

  /** Publishes on devices/<id>/<leaf> (QoS 1). */
  bool publish(const char* leaf, const char* payload, size_t length, bool retain);

  /** What the client reported since the last call: a connection, a loss (or a refused or failed attempt). */
  void takeEvents(bool& connected, bool& lost);

  /** The oldest complete incoming message on the bot's own command or ota topic; false when none waits. */
  bool takeMessage(InboundMessage& out);

  uint32_t droppedMessages();
};

}  // namespace webide
