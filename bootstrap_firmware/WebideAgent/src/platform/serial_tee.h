// The sketch's Serial, shared with the live link: what the sketch prints is copied, line by line, into the tee's
// buffer for the link (the UART still gets every byte), and lines the server sends are read by the sketch as Serial
// input. Neither side ever waits for the other.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace webide {

/** Moves whole printed lines (newline-separated, NUL-terminated) into `out`; returns their length, 0 when none. */
size_t takeSerialLines(char* out, size_t capacity);

/** Bytes of complete lines waiting in the tee. */
size_t serialLinesQueued();

/** Lines dropped so far (over the rate limit, no room, or too long for a batch). */
uint32_t serialLinesDropped();

/** Queues `line` and a newline for the sketch's Serial reads; false (nothing queued) when it does not fit. */
bool pushSerialInput(const char* line);

}  // namespace webide
