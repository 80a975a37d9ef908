#include "debounce.h"

namespace webide {

ButtonDebouncer::ButtonDebouncer(uint32_t settleMs, uint32_t longPressMs)
    : settleMs_(settleMs),
      longPressMs_(longPressMs),
      stablePressed_(false),
      candidatePressed_(false),
      longPressFired_(false),
      candidateSinceMs_(0),
      pressedSinceMs_(0) {}

ButtonEvent ButtonDebouncer::update(bool rawPressed, uint32_t nowMs) {
  if (rawPressed != candidatePressed_) {
    candidatePressed_ = rawPressed;
    candidateSinceMs_ = nowMs;
  }
  if (candidatePressed_ != stablePressed_ && nowMs - candidateSinceMs_ >= settleMs_) {
    stablePressed_ = candidatePressed_;
    if (stablePressed_) {
      pressedSinceMs_ = candidateSinceMs_;
      longPressFired_ = false;
    } else if (!longPressFired_) {
      return ButtonEvent::ShortPress;
    }
  }
  if (stablePressed_ && !longPressFired_ && nowMs - pressedSinceMs_ >= longPressMs_) {
    longPressFired_ = true;
    return ButtonEvent::LongPress;
  }
  return ButtonEvent::None;
}

}  // namespace webide
