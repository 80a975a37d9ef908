#include "live_link.h"

#include <stdio.h>
#include <string.h>

#include "reports.h"

namespace webide {

const char* const kTopicHealth = "health";
const char* const kTopicStatus = "status";
const char* const kTopicOtaStatus = "ota/status";
const char* const kTopicLogs = "logs";
const char* const kTopicResult = "result";
const char* const kTopicCommand = "command";
const char* const kTopicOta = "ota";

namespace {

const char* const kCommandNames[] = {"led",        "relay",    "reboot", "reset_wifi",
                                     "test_update", "update_now", "identify", "serial"};
const size_t kCommandCount = sizeof kCommandNames / sizeof kCommandNames[0];

bool commandFromName(const char* name, CommandKind& kind) {
  for (size_t i = 0; i < kCommandCount; ++i) {
    if (strcmp(name, kCommandNames[i]) == 0) {
      kind = static_cast<CommandKind>(i);
      return true;
    }
  }
  return false;
}

bool switchFromName(const char* name, SwitchState& state) {
  if (strcmp(name, "on") == 0) state = SwitchState::On;
  else if (strcmp(name, "off") == 0) state = SwitchState::Off;
  else if (strcmp(name, "toggle") == 0) state = SwitchState::Toggle;
  else return false;
  return true;
}

bool printableLine(const char* line) {
  for (const unsigned char* c = reinterpret_cast<const unsigned char*>(line); *c; ++c) {
    if (*c < 0x20 || *c == 0x7F) return false;  // bytes of UTF-8 beyond ASCII are fine
  }
  return true;
}

}  // namespace

bool SerialInput::push(const char* line) {
  const size_t length = strlen(line);
  if (length + 1 > kCapacity - count_) return false;
  for (size_t i = 0; i <= length; ++i) {
    ring_[(head_ + count_) % kCapacity] = i < length ? line[i] : '\n';
    ++count_;
  }
  return true;
}

int SerialInput::read() {
  if (count_ == 0) return -1;
  const unsigned char byte = static_cast<unsigned char>(ring_[head_]);
  head_ = (head_ + 1) % kCapacity;
  --count_;
  return byte;
}

int SerialInput::peek() const { return count_ == 0 ? -1 : static_cast<unsigned char>(ring_[head_]); }

bool buildTopic(const char* productId, const char* leaf, char* out, size_t capacity) {
  if (capacity == 0) return false;
  out[0] = '\0';
  if (productId == nullptr || productId[0] == '\0' || strpbrk(productId, "/+#") != nullptr) return false;
  const int written = snprintf(out, capacity, "devices/%s/%s", productId, leaf);
  if (written < 0 || static_cast<size_t>(written) >= capacity) {
    out[0] = '\0';
    return false;
  }
  return true;
}

JsonError parseCommand(const char* text, size_t length, Command& out) {
  memset(&out, 0, sizeof out);
  char name[16] = {0};
  char state[8] = {0};
  FieldSpec fields[] = {
      {"id", FieldKind::String, out.id, sizeof out.id, true, false},
      {"command", FieldKind::String, name, sizeof name, true, false},
      {"state", FieldKind::String, state, sizeof state, false, false},
      {"seconds", FieldKind::UInt32, &out.seconds, 0, false, false},
      {"line", FieldKind::String, out.line, sizeof out.line, false, false},
  };
  const JsonError error = parseFlatObject(text, length, fields, sizeof fields / sizeof fields[0]);
  if (error != JsonError::None) return error;
  if (out.id[0] == '\0' || !commandFromName(name, out.kind)) return JsonError::MissingField;
  if (out.kind == CommandKind::Led || out.kind == CommandKind::Relay) {
    if (!switchFromName(state, out.state)) return JsonError::WrongType;
  }
  if (out.kind == CommandKind::Identify) {
    if (!fields[3].present) out.seconds = kDefaultIdentifySeconds;
    if (out.seconds == 0 || out.seconds > kMaxIdentifySeconds) return JsonError::WrongType;
  }
  if (out.kind == CommandKind::Serial) {
    if (!fields[4].present) return JsonError::MissingField;
    if (!printableLine(out.line)) return JsonError::WrongType;
  }
  return JsonError::None;
}

const char* commandName(CommandKind kind) {
  const size_t index = static_cast<size_t>(kind);
  return index < kCommandCount ? kCommandNames[index] : "unknown";
}

size_t buildResultJson(const char* id, CommandOutcome outcome, const char* message, char* out, size_t capacity) {
  const char* state = outcome == CommandOutcome::Acked ? "acked" : outcome == CommandOutcome::Done ? "done" : "failed";
  JsonWriter writer(out, capacity);
  writer.addString("id", id).addString("state", state);
  if (message != nullptr && message[0] != '\0') writer.addString("message", message);
  return writer.finish();
}

LineRateLimiter::LineRateLimiter(uint32_t perSecond, uint32_t burst)
    : perSecond_(perSecond), burstMilli_(burst * 1000), tokensMilli_(burst * 1000), lastMs_(0), started_(false) {}

bool LineRateLimiter::allow(uint32_t nowMs) {
  if (started_) {
    const uint32_t elapsedMs = nowMs - lastMs_;  // unsigned: correct across millis() wrap-around
    const uint64_t refill = static_cast<uint64_t>(elapsedMs) * perSecond_;  // thousandths of a line
    tokensMilli_ = refill >= burstMilli_ - tokensMilli_ ? burstMilli_ : tokensMilli_ + static_cast<uint32_t>(refill);
  }
  started_ = true;
  lastMs_ = nowMs;
  if (tokensMilli_ < 1000) return false;
  tokensMilli_ -= 1000;
  return true;
}

LineBuffer::LineBuffer(uint32_t linesPerSecond, uint32_t burst)
    : limiter_(linesPerSecond, burst), line_{}, lineLength_(0), queue_{}, queued_(0), dropped_(0) {}

void LineBuffer::write(uint8_t byte, uint32_t nowMs) {
  if (byte == '\r') return;
  if (byte == '\n') {
    endLine(nowMs);
    return;
  }
  if (lineLength_ < kMaxLogLineBytes) line_[lineLength_++] = static_cast<char>(byte);  // the rest is left out
}

void LineBuffer::endLine(uint32_t nowMs) {
  const size_t length = lineLength_;
  lineLength_ = 0;
  if (length == 0) return;
  if (queued_ + length + 1 > kLogQueueBytes || !limiter_.allow(nowMs)) {
    ++dropped_;
    return;
  }
  memcpy(queue_ + queued_, line_, length);
  queued_ += length;
  queue_[queued_++] = '\n';
}

size_t LineBuffer::takeBatch(char* out, size_t capacity) {
  if (capacity == 0) return 0;
  size_t taken = 0;  // bytes of the queue moved, newlines included
  size_t lines = 0;
  while (taken < queued_ && lines < kMaxLogLinesPerBatch) {
    const char* start = queue_ + taken;
    const size_t lineLength = static_cast<const char*>(memchr(start, '\n', queued_ - taken)) - start;
    if (taken + lineLength >= capacity) {  // this line and a NUL would not fit
      if (taken > 0) break;
      taken = lineLength + 1;  // not even alone: dropped, or it would block the queue for ever
      ++dropped_;
      memmove(queue_, queue_ + taken, queued_ - taken);
      queued_ -= taken;
      taken = 0;
      continue;
    }
    memcpy(out + taken, start, lineLength + 1);
    taken += lineLength + 1;
    ++lines;
  }
  if (taken == 0) {
    out[0] = '\0';
    return 0;
  }
  out[taken - 1] = '\0';  // the last newline becomes the end of the text
  memmove(queue_, queue_ + taken, queued_ - taken);
  queued_ -= taken;
  return taken - 1;
}

}  // namespace webide
