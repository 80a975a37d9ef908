// Trigger button handling: debounced edges turned into short and long presses.
#pragma once

#include <stdint.h>

namespace webide {

enum class ButtonEvent : uint8_t { None, ShortPress, LongPress };

/**
 * Feed raw samples with a millisecond clock (wrap-around safe). A level counts only after it has been
 * stable for `settleMs`; a long press fires once while still held, so the user sees the reaction
 * without letting go, and the following release is not also a short press.
 */
class ButtonDebouncer {
 public:
  ButtonDebouncer(uint32_t settleMs, uint32_t longPressMs);

  ButtonEvent update(bool rawPressed, uint32_t nowMs);

  bool isPressed() const { return stablePressed_; }

 private:
  uint32_t settleMs_;
  uint32_t longPressMs_;
  bool stablePressed_;
  bool candidatePressed_;
  bool longPressFired_;
  uint32_t candidateSinceMs_;
  uint32_t pressedSinceMs_;
};

}  // namespace webide
