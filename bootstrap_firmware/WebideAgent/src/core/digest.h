// Hex digest checks used to decide whether the running sketch already is the target.
#pragma once

#include <stddef.h>

namespace webide {

const size_t kMd5HexLength = 32;
const size_t kSha256HexLength = 64;

/** True when `text` is exactly `expectedLength` hex digits (either case). */
bool isHexDigest(const char* text, size_t expectedLength);

/** True when both are valid hex digests of the same length naming the same bytes (case-insensitive). */
bool digestsEqual(const char* left, const char* right);

}  // namespace webide
