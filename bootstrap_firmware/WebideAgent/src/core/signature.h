// The detached signature the server sends with every image: ECDSA P-256 over the image's SHA-256.
//
// ECDSA P-256 rather than Ed25519 because the mbedTLS that Arduino-ESP32 ships verifies P-256 (TLS needs it) but
// has no Ed25519. The public key (the 65-byte uncompressed point) comes with the first-flash kit; the signature
// (64 bytes, r || s) comes in the manifest and the x-Signature header, both base64.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace webide {

const size_t kP256PointBytes = 65;      // 0x04 || X || Y
const size_t kP256SignatureBytes = 64;  // r || s, big-endian
const size_t kSha256Bytes = 32;
const size_t kSigningKeyBase64Length = 88;
const size_t kSignatureBase64Length = 88;

/** The one primitive a platform provides: mbedTLS on the ESP32, OpenSSL in the host tests. */
class SignatureVerifier {
 public:
  virtual ~SignatureVerifier() {}
  /** True when `signature` (r || s) is a valid P-256 signature of `digest` (a SHA-256) by `point`. */
  virtual bool verifyP256(const uint8_t* point, const uint8_t* digest, const uint8_t* signature) const = 0;
};

enum class SignatureCheck : uint8_t {
  Valid,
  NoKey,      // the bot was provisioned without a signing key (a kit from before signing): nothing to check
  Missing,    // the bot has a key but the server sent no signature
  Malformed,  // not base64, or not the length of a P-256 key or signature
  Invalid,    // well-formed, but not a signature of this image by this key
};

/** Standard base64 with padding into `out`; false on any other character, bad padding or more than `capacity`. */
bool decodeBase64(const char* text, uint8_t* out, size_t capacity, size_t& written);

/** Checks the signature of the image whose SHA-256 is `digest` against the provisioned public key. */
SignatureCheck checkImageSignature(const SignatureVerifier& verifier, const char* publicKeyBase64, const uint8_t* digest,
                                   const char* signatureBase64);

/** True when the image may be kept: a valid signature, or a bot without a key. */
bool signatureAccepted(SignatureCheck check);

/** Stable name for logs and status reports. */
const char* signatureCheckName(SignatureCheck check);

}  // namespace webide
