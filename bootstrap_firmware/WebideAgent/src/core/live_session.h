// The live link's decisions, apart from the MQTT client itself: whether and when to connect, when to say "online",
// publish health and forward serial lines, when to give up on a connection and how long to wait before the next,
// which subscription an incoming message belongs to, and how its pieces are put together. The ESP32 layer
// (src/platform/live_link_client.cpp) only carries these steps out.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "backoff.h"

namespace webide {

const size_t kMaxBrokerUrlBytes = 128;

/**
 * A broker address the bot may use: mqtt://host[:port] or mqtts://host[:port] (one trailing "/" allowed), no
 * credentials (the bot logs in with its own), no path, no spaces or control characters, at most kMaxBrokerUrlBytes.
 */
bool validBrokerUrl(const char* url);

enum class InboundTopic : uint8_t { Command, Ota, Other };

/**
 * Which of the bot's subscriptions `topic` (`length` bytes, not NUL-terminated, as MQTT hands it over) is:
 * devices/<productId>/command or devices/<productId>/ota; Other for anything else, another bot's topics included.
 */
InboundTopic routeTopic(const char* productId, const char* topic, size_t length);

/** What the ESP32 layer does next for the live link. */
enum class LinkStep : uint8_t {
  None,
  Start,          // create and start an MQTT client for broker() (auto-reconnect off: the session paces retries)
  Stop,           // stop and free the client
  Announce,       // subscribe to command and ota, publish {"online": true} retained on status
  PublishHealth,  // publish the heartbeat's JSON on health
  FlushLogs,      // publish a batch of the serial tee's lines on logs
};

class LiveSession {
 public:
  /**
   * `healthIntervalMs`: how often health goes out while online (the HTTP heartbeat's period); `flushMs`: how often
   * queued serial lines go out; `connectTimeoutMs`: how long a connection attempt may take; `backoff` paces retries.
   */
  LiveSession(uint32_t healthIntervalMs, uint32_t flushMs, uint32_t connectTimeoutMs, const Backoff& backoff);

  /** The broker the server named in its heartbeat reply ("" or nullptr: none). Another one drops the current link. */
  void setBroker(const char* url);
  const char* broker() const { return broker_; }

  void setWifi(bool up);

  /** What the client reported since the last call (its events arrive on its own task; hand them over here). */
  void clientConnected();
  void clientLost();

  /** The next step at `nowMs` (a millis() reading); `queuedLogBytes`: what the serial tee holds. */
  LinkStep next(uint32_t nowMs, size_t queuedLogBytes);

  /** Report how a step went. A failed Start or Announce is a failed attempt: the next waits for the backoff. */
  void done(LinkStep step, bool ok, uint32_t nowMs);

  /** Connected and announced: answers and reports may go over the link. */
  bool online() const { return state_ == State::Online; }

  /**
   * Whether health on the link stands in for the HTTP heartbeat. A bot on probation keeps the HTTP heartbeat: only
   * its reply confirms the new firmware.
   */
  bool carriesHeartbeats(bool onProbation) const { return online() && !onProbation; }

  uint32_t failedAttempts() const { return backoff_.failures(); }

 private:
  enum class State : uint8_t { Waiting, Connecting, Online };

  bool wanted() const { return wifiUp_ && broker_[0] != '\0'; }
  void scheduleRetry(uint32_t nowMs, bool failed);

  uint32_t healthIntervalMs_;
  uint32_t flushMs_;
  uint32_t connectTimeoutMs_;
  Backoff backoff_;
  char broker_[kMaxBrokerUrlBytes + 1];
  State state_;
  bool wifiUp_;
  bool clientRunning_;
  bool connected_;      // the client said CONNECTED since Start
  bool lost_;           // the client said DISCONNECTED (or failed) since Start
  bool brokerChanged_;  // a running client talks to a broker that is no longer wanted
  bool stopIsFailure_;  // the pending Stop ends a failed attempt (backoff) rather than a deliberate change
  bool nextAttemptSet_;  // false: the next attempt may start at once
  uint32_t nextAttemptMs_;
  uint32_t startedMs_;
  uint32_t nextHealthMs_;
  uint32_t lastFlushMs_;
};

const size_t kMaxInboundBytes = 1024;  // a serial command's 256-byte line, escaped as \uXXXX, fits

struct InboundMessage {
  InboundTopic topic;
  size_t length;
  char payload[kMaxInboundBytes + 1];  // NUL-terminated
};

/**
 * Incoming messages between the client's task and the agent's: MQTT hands a long message over in pieces (the first
 * names the topic, each says its offset and the total), which are put together here in fixed slots. A message over
 * kMaxInboundBytes, one whose pieces do not follow each other, or one arriving while every slot is taken is
 * dropped and counted, never cut. The caller serialises receive() and take().
 */
class LinkInbox {
 public:
  LinkInbox();

  void receive(InboundTopic topic, size_t offset, const char* data, size_t length, size_t total);

  /** The oldest complete message; false when none is waiting. */
  bool take(InboundMessage& out);

  uint32_t dropped() const { return dropped_; }

  static const size_t kSlots = 3;

 private:
  InboundMessage slots_[kSlots];
  size_t head_;       // the oldest complete message
  size_t complete_;   // complete messages waiting
  bool filling_;      // slots_[(head_ + complete_) % kSlots] is being put together
  size_t received_;   // bytes of the message being put together
  size_t expected_;   // its total
  uint32_t dropped_;
};

/**
 * The ids of the last commands run, so a command that comes twice (a heartbeat reply that still lists it because the
 * answer was lost, an MQTT redelivery) runs once.
 */
class RecentCommands {
 public:
  RecentCommands();
  bool seen(const char* id) const;
  void remember(const char* id);

  static const size_t kKept = 8;

 private:
  char ids_[kKept][33];
  size_t next_;
};

}  // namespace webide
