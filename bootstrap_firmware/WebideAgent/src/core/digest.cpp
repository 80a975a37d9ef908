#include "digest.h"

#include <string.h>

namespace webide {

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool isDigestLength(size_t length) { return length == kMd5HexLength || length == kSha256HexLength; }

}  // namespace

bool isHexDigest(const char* text, size_t expectedLength) {
  if (text == nullptr || strlen(text) != expectedLength) return false;
  for (size_t i = 0; i < expectedLength; ++i) {
    if (hexValue(text[i]) < 0) return false;
  }
  return true;
}

bool digestsEqual(const char* left, const char* right) {
  if (left == nullptr || right == nullptr) return false;
  const size_t length = strlen(left);
  if (!isDigestLength(length) || !isHexDigest(left, length) || !isHexDigest(right, length)) return false;
  for (size_t i = 0; i < length; ++i) {
    if (hexValue(left[i]) != hexValue(right[i])) return false;
  }
  return true;
}

}  // namespace webide
