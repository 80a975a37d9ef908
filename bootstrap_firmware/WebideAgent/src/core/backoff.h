// Retry pacing for Wi-Fi joins and server calls, so a classroom of bots does not hammer a recovering server.
#pragma once

#include <stdint.h>

namespace webide {

/**
 * Exponential backoff with "equal jitter": the n-th delay lies in [ceiling/2, ceiling] where
 * ceiling = min(cap, base * 2^n). Half the delay is random so bots that failed together spread out.
 */
class Backoff {
 public:
  Backoff(uint32_t baseMs, uint32_t capMs, uint32_t seed);

  /** Delay before the next attempt; each call counts one more failure. */
  uint32_t nextDelayMs();

  /** Forget past failures after a success. */
  void reset();

  uint32_t failures() const { return failures_; }

 private:
  uint32_t ceilingMs() const;
  uint32_t nextRandom();

  uint32_t baseMs_;
  uint32_t capMs_;
  uint32_t state_;
  uint32_t failures_;
};

}  // namespace webide
