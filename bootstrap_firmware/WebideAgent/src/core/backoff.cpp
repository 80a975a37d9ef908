#include "backoff.h"

namespace webide {

namespace {
const uint32_t kFallbackSeed = 0x9E3779B9u;
}

Backoff::Backoff(uint32_t baseMs, uint32_t capMs, uint32_t seed)
    : baseMs_(baseMs == 0 ? 1 : baseMs),
      capMs_(capMs < baseMs ? baseMs : capMs),
      state_(seed == 0 ? kFallbackSeed : seed),
      failures_(0) {}

uint32_t Backoff::ceilingMs() const {
  uint32_t ceiling = baseMs_;
  for (uint32_t i = 0; i < failures_ && ceiling < capMs_; ++i) {
    ceiling = ceiling > capMs_ / 2 ? capMs_ : ceiling * 2;
  }
  return ceiling < capMs_ ? ceiling : capMs_;
}

uint32_t Backoff::nextRandom() {
  // xorshift32: tiny, deterministic for a given seed, good enough to spread retries.
  state_ ^= state_ << 13;
  state_ ^= state_ >> 17;
  state_ ^= state_ << 5;
  return state_;
}

uint32_t Backoff::nextDelayMs() {
  const uint32_t ceiling = ceilingMs();
  const uint32_t half = ceiling / 2;
  const uint32_t jitter = nextRandom() % (ceiling - half + 1);
  if (failures_ < 32) ++failures_;
  return half + jitter;
}

void Backoff::reset() { failures_ = 0; }

}  // namespace webide
