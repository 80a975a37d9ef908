// The live link's portable part: topic names, the commands the server sends and the agent's answers, and the
// serial tee's line buffer with its rate limit. The MQTT client itself lives in the ESP32 layer.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "flat_json.h"

namespace webide {

// Below devices/<product ID>/: what the bot publishes, and what it subscribes to.
extern const char* const kTopicHealth;
extern const char* const kTopicStatus;
extern const char* const kTopicOtaStatus;
extern const char* const kTopicLogs;
extern const char* const kTopicResult;
extern const char* const kTopicCommand;
extern const char* const kTopicOta;

/** devices/<productId>/<leaf>; false (and "") for an empty or wildcard-bearing product ID or a small buffer. */
bool buildTopic(const char* productId, const char* leaf, char* out, size_t capacity);

enum class CommandKind : uint8_t { Led, Relay, Reboot, ResetWifi, TestUpdate, UpdateNow, Identify, Serial };
enum class SwitchState : uint8_t { On, Off, Toggle };

const uint32_t kMaxIdentifySeconds = 60;
const uint32_t kDefaultIdentifySeconds = 5;
const size_t kMaxSerialInputBytes = 256;  // one line for the sketch's Serial input, without its newline

struct Command {
  char id[33];
  CommandKind kind;
  SwitchState state;     // led and relay
  uint32_t seconds;      // identify
  char line[kMaxSerialInputBytes + 1];  // serial: one line of text, no control characters
};

/**
 * One command as the server sends it, a flat object: {"id", "command", "state"?, "seconds"?, "line"?}. An unknown
 * command, a missing id, led/relay without a valid state, identify beyond kMaxIdentifySeconds, or serial without a
 * line, with a longer one or with control characters is an error, never a guess.
 */
JsonError parseCommand(const char* text, size_t length, Command& out);

const char* commandName(CommandKind kind);

enum class CommandOutcome : uint8_t { Acked, Done, Failed };

/** The answer on devices/<id>/result: {"id", "state": acked|done|failed, "message"}. Returns length or 0. */
size_t buildResultJson(const char* id, CommandOutcome outcome, const char* message, char* out, size_t capacity);

/** Token bucket for serial lines: `perSecond` lines a second on average, bursts of `burst`. */
class LineRateLimiter {
 public:
  LineRateLimiter(uint32_t perSecond, uint32_t burst);

  /** Whether one more line may go at `nowMs` (a millis() reading; wrap-around is fine). */
  bool allow(uint32_t nowMs);

 private:
  uint32_t perSecond_;
  uint32_t burstMilli_;   // capacity in thousandths of a line
  uint32_t tokensMilli_;
  uint32_t lastMs_;
  bool started_;
};

/**
 * The sketch's Serial input from the live link: lines the server sent (each followed by '\n'), read byte by byte
 * the way a sketch reads Serial. A fixed ring, never allocating: a line without room is refused whole (false), so
 * the sketch never sees half a line.
 */
class SerialInput {
 public:
  /** Queues `line` and a newline; false when it does not fit (nothing is queued then). */
  bool push(const char* line);

  int available() const { return static_cast<int>(count_); }
  /** The next byte, or -1 when empty (like Stream::read). */
  int read();
  int peek() const;

  static const size_t kCapacity = 2 * (kMaxSerialInputBytes + 1);

 private:
  char ring_[kCapacity] = {0};
  size_t head_ = 0;   // the next byte to read
  size_t count_ = 0;
};

const size_t kMaxLogLineBytes = 256;
const size_t kLogQueueBytes = 2048;
const size_t kMaxLogLinesPerBatch = 100;  // the server reads at most this many lines of one logs message

/**
 * The serial tee's buffer: the bytes the sketch prints, cut into lines (a newline ends one, carriage returns are
 * dropped), each kept to kMaxLogLineBytes, queued in a fixed buffer until sent in batches. It never blocks and never
 * allocates: a line over the rate limit or without room in the queue is dropped and counted.
 */
class LineBuffer {
 public:
  LineBuffer(uint32_t linesPerSecond, uint32_t burst);

  /** One byte from the sketch's Serial output. */
  void write(uint8_t byte, uint32_t nowMs);

  /**
   * Moves whole queued lines (at most kMaxLogLinesPerBatch), newline-separated, into `out` (NUL-terminated); returns
   * their length (0: none).
   * Give it at least kMaxLogLineBytes + 1 bytes: a line that does not fit alone is dropped and counted.
   */
  size_t takeBatch(char* out, size_t capacity);

  uint32_t droppedLines() const { return dropped_; }
  size_t queuedBytes() const { return queued_; }

 private:
  void endLine(uint32_t nowMs);

  LineRateLimiter limiter_;
  char line_[kMaxLogLineBytes];
  size_t lineLength_;
  char queue_[kLogQueueBytes];  // complete lines, each ending in '\n'
  size_t queued_;
  uint32_t dropped_;
};

}  // namespace webide
