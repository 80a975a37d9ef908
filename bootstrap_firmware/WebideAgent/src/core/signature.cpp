#include "signature.h"

#include <string.h>

namespace webide {

namespace {

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/** Decodes `text` into exactly `expected` bytes, or fails. */
bool decodeExactly(const char* text, uint8_t* out, size_t expected) {
  size_t written = 0;
  return decodeBase64(text, out, expected, written) && written == expected;
}

}  // namespace

bool decodeBase64(const char* text, uint8_t* out, size_t capacity, size_t& written) {
  written = 0;
  const size_t length = strlen(text);
  if (length % 4 != 0) return false;
  for (size_t group = 0; group < length; group += 4) {
    const bool last = group + 4 == length;
    int values[4];
    size_t padding = 0;
    for (size_t i = 0; i < 4; ++i) {
      const char c = text[group + i];
      if (c == '=' && last && i >= 2) {
        ++padding;
        values[i] = 0;
        continue;
      }
      if (padding > 0) return false;  // a character after '='
      values[i] = base64Value(c);
      if (values[i] < 0) return false;
    }
    const uint32_t bits = (static_cast<uint32_t>(values[0]) << 18) | (static_cast<uint32_t>(values[1]) << 12) |
                          (static_cast<uint32_t>(values[2]) << 6) | static_cast<uint32_t>(values[3]);
    const size_t bytes = 3 - padding;
    if (written + bytes > capacity) return false;
    for (size_t i = 0; i < bytes; ++i) out[written++] = static_cast<uint8_t>(bits >> (16 - 8 * i));
  }
  return true;
}

SignatureCheck checkImageSignature(const SignatureVerifier& verifier, const char* publicKeyBase64, const uint8_t* digest,
                                   const char* signatureBase64) {
  if (publicKeyBase64 == nullptr || publicKeyBase64[0] == '\0') return SignatureCheck::NoKey;
  if (signatureBase64 == nullptr || signatureBase64[0] == '\0') return SignatureCheck::Missing;
  uint8_t point[kP256PointBytes];
  uint8_t signature[kP256SignatureBytes];
  if (!decodeExactly(publicKeyBase64, point, sizeof point) || point[0] != 0x04) return SignatureCheck::Malformed;
  if (!decodeExactly(signatureBase64, signature, sizeof signature)) return SignatureCheck::Malformed;
  return verifier.verifyP256(point, digest, signature) ? SignatureCheck::Valid : SignatureCheck::Invalid;
}

bool signatureAccepted(SignatureCheck check) {
  return check == SignatureCheck::Valid || check == SignatureCheck::NoKey;
}

const char* signatureCheckName(SignatureCheck check) {
  switch (check) {
    case SignatureCheck::Valid: return "valid";
    case SignatureCheck::NoKey: return "no signing key provisioned";
    case SignatureCheck::Missing: return "no signature sent";
    case SignatureCheck::Malformed: return "malformed signature or key";
    case SignatureCheck::Invalid: return "signature does not match the image";
  }
  return "unknown";
}

}  // namespace webide
