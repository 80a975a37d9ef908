#include "live_session.h"

#include <string.h>

#include "live_link.h"

namespace webide {

namespace {

bool due(uint32_t nowMs, uint32_t atMs) { return static_cast<int32_t>(nowMs - atMs) >= 0; }

bool hostCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

bool ipv6Character(char c) {
  return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':' || c == '.';
}

/** host, [v6 literal], then an optional :port and an optional trailing "/"; nothing else. */
bool validAuthority(const char* text) {
  const char* c = text;
  if (*c == '[') {
    ++c;
    const char* start = c;
    while (ipv6Character(*c)) ++c;
    if (c == start || *c != ']') return false;
    ++c;
  } else {
    const char* start = c;
    while (hostCharacter(*c)) ++c;
    if (c == start) return false;
  }
  if (*c == ':') {
    ++c;
    uint32_t port = 0;
    const char* start = c;
    while (*c >= '0' && *c <= '9' && c - start < 5) port = port * 10 + static_cast<uint32_t>(*c++ - '0');
    if (c == start || port == 0 || port > 65535) return false;
  }
  if (*c == '/') ++c;
  return *c == '\0';
}

bool matches(const char* text, size_t length, size_t& at, const char* expected) {
  const size_t expectedLength = strlen(expected);
  if (length - at < expectedLength || memcmp(text + at, expected, expectedLength) != 0) return false;
  at += expectedLength;
  return true;
}

}  // namespace

bool validBrokerUrl(const char* url) {
  if (url == nullptr) return false;
  const size_t length = strlen(url);
  if (length == 0 || length > kMaxBrokerUrlBytes) return false;
  if (strncmp(url, "mqtt://", 7) == 0) return validAuthority(url + 7);
  if (strncmp(url, "mqtts://", 8) == 0) return validAuthority(url + 8);
  return false;
}

InboundTopic routeTopic(const char* productId, const char* topic, size_t length) {
  if (productId == nullptr || productId[0] == '\0' || strpbrk(productId, "/+#") != nullptr || topic == nullptr) {
    return InboundTopic::Other;
  }
  size_t at = 0;
  if (!matches(topic, length, at, "devices/") || !matches(topic, length, at, productId) ||
      !matches(topic, length, at, "/")) {
    return InboundTopic::Other;
  }
  const size_t leafLength = length - at;
  if (leafLength == strlen(kTopicCommand) && memcmp(topic + at, kTopicCommand, leafLength) == 0) {
    return InboundTopic::Command;
  }
  if (leafLength == strlen(kTopicOta) && memcmp(topic + at, kTopicOta, leafLength) == 0) return InboundTopic::Ota;
  return InboundTopic::Other;
}

LiveSession::LiveSession(uint32_t healthIntervalMs, uint32_t flushMs, uint32_t connectTimeoutMs,
                         const Backoff& backoff)
    : healthIntervalMs_(healthIntervalMs),
      flushMs_(flushMs),
      connectTimeoutMs_(connectTimeoutMs),
      backoff_(backoff),
      broker_{},
      state_(State::Waiting),
      wifiUp_(false),
      clientRunning_(false),
      connected_(false),
      lost_(false),
      brokerChanged_(false),
      stopIsFailure_(false),
      nextAttemptSet_(false),
      nextAttemptMs_(0),
      startedMs_(0),
      nextHealthMs_(0),
      lastFlushMs_(0) {}

void LiveSession::setBroker(const char* url) {
  const char* wanted = url == nullptr ? "" : url;
  if (wanted[0] != '\0' && !validBrokerUrl(wanted)) wanted = "";
  if (strcmp(wanted, broker_) == 0) return;
  strncpy(broker_, wanted, kMaxBrokerUrlBytes);
  broker_[kMaxBrokerUrlBytes] = '\0';
  backoff_.reset();  // a new broker starts with a clean slate
  if (clientRunning_) {
    brokerChanged_ = true;
  } else {
    state_ = State::Waiting;
    nextAttemptMs_ = 0;
    nextAttemptSet_ = false;
  }
}

void LiveSession::setWifi(bool up) {
  if (up && !wifiUp_ && !clientRunning_) nextAttemptSet_ = false;  // Wi-Fi is back: try at once
  wifiUp_ = up;
}

void LiveSession::clientConnected() {
  if (clientRunning_) connected_ = true;
}

void LiveSession::clientLost() {
  if (clientRunning_) lost_ = true;
}

LinkStep LiveSession::next(uint32_t nowMs, size_t queuedLogBytes) {
  if (clientRunning_) {
    if (!wanted() || brokerChanged_) {
      stopIsFailure_ = false;
      return LinkStep::Stop;
    }
    if (lost_) {
      stopIsFailure_ = true;
      return LinkStep::Stop;
    }
    if (state_ == State::Connecting) {
      if (connected_) return LinkStep::Announce;
      if (!due(nowMs, startedMs_ + connectTimeoutMs_)) return LinkStep::None;
      stopIsFailure_ = true;
      return LinkStep::Stop;
    }
    if (due(nowMs, nextHealthMs_)) return LinkStep::PublishHealth;
    if (queuedLogBytes > 0 && due(nowMs, lastFlushMs_ + flushMs_)) return LinkStep::FlushLogs;
    return LinkStep::None;
  }
  if (!wanted()) return LinkStep::None;
  if (!nextAttemptSet_) {
    nextAttemptSet_ = true;
    nextAttemptMs_ = nowMs;
  }
  return due(nowMs, nextAttemptMs_) ? LinkStep::Start : LinkStep::None;
}

void LiveSession::scheduleRetry(uint32_t nowMs, bool failed) {
  state_ = State::Waiting;
  nextAttemptSet_ = true;
  nextAttemptMs_ = failed ? nowMs + backoff_.nextDelayMs() : nowMs;
}

void LiveSession::done(LinkStep step, bool ok, uint32_t nowMs) {
  switch (step) {
    case LinkStep::Start:
      if (ok) {
        clientRunning_ = true;
        connected_ = false;
        lost_ = false;
        brokerChanged_ = false;
        state_ = State::Connecting;
        startedMs_ = nowMs;
      } else {
        scheduleRetry(nowMs, true);
      }
      break;
    case LinkStep::Stop:
      clientRunning_ = false;
      connected_ = false;
      lost_ = false;
      brokerChanged_ = false;
      scheduleRetry(nowMs, stopIsFailure_);
      stopIsFailure_ = false;
      break;
    case LinkStep::Announce:
      if (ok) {
        state_ = State::Online;
        backoff_.reset();
        nextHealthMs_ = nowMs;  // the server hears at once how the bot is
        lastFlushMs_ = nowMs - flushMs_;
      } else {
        lost_ = true;  // the next step stops this client and waits
      }
      break;
    case LinkStep::PublishHealth:
      nextHealthMs_ = nowMs + healthIntervalMs_;
      break;
    case LinkStep::FlushLogs:
      lastFlushMs_ = nowMs;
      break;
    default:
      break;
  }
}

LinkInbox::LinkInbox()
    : head_(0), complete_(0), filling_(false), received_(0), expected_(0), dropped_(0) {
  memset(slots_, 0, sizeof slots_);
}

void LinkInbox::receive(InboundTopic topic, size_t offset, const char* data, size_t length, size_t total) {
  if (offset == 0) {
    if (filling_) ++dropped_;  // the previous message never completed
    filling_ = false;
    if (total > kMaxInboundBytes || complete_ == kSlots || length > total) {
      ++dropped_;  // its later pieces find nothing being filled and are ignored
      return;
    }
    InboundMessage& slot = slots_[(head_ + complete_) % kSlots];
    slot.topic = topic;
    slot.length = total;
    filling_ = true;
    received_ = 0;
    expected_ = total;
  } else if (!filling_) {
    return;  // the rest of a message already dropped
  }
  InboundMessage& slot = slots_[(head_ + complete_) % kSlots];
  if (offset != received_ || length > expected_ - received_) {
    ++dropped_;
    filling_ = false;
    return;
  }
  if (length > 0) memcpy(slot.payload + received_, data, length);
  received_ += length;
  if (received_ == expected_) {
    slot.payload[expected_] = '\0';
    filling_ = false;
    ++complete_;
  }
}

bool LinkInbox::take(InboundMessage& out) {
  if (complete_ == 0) return false;
  const InboundMessage& slot = slots_[head_];
  out.topic = slot.topic;
  out.length = slot.length;
  memcpy(out.payload, slot.payload, slot.length + 1);
  head_ = (head_ + 1) % kSlots;
  --complete_;
  return true;
}

RecentCommands::RecentCommands() : next_(0) { memset(ids_, 0, sizeof ids_); }

bool RecentCommands::seen(const char* id) const {
  if (id == nullptr || id[0] == '\0') return false;
  for (size_t i = 0; i < kKept; ++i) {
    if (strncmp(ids_[i], id, sizeof ids_[i]) == 0) return true;
  }
  return false;
}

void RecentCommands::remember(const char* id) {
  if (id == nullptr || id[0] == '\0' || seen(id)) return;
  strncpy(ids_[next_], id, sizeof ids_[next_] - 1);
  ids_[next_][sizeof ids_[next_] - 1] = '\0';
  next_ = (next_ + 1) % kKept;
}

}  // namespace webide
