#include "image_signature.h"

#include <esp_ota_ops.h>
#include <esp_partition.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

namespace webide {

namespace {

/** ECDSA P-256 with the mbedTLS of Arduino-ESP32 (secp256r1 is always built: TLS needs it). */
class MbedtlsVerifier : public SignatureVerifier {
 public:
  bool verifyP256(const uint8_t* point, const uint8_t* digest, const uint8_t* signature) const override {
    mbedtls_ecp_group group;
    mbedtls_ecp_point key;
    mbedtls_mpi r;
    mbedtls_mpi s;
    mbedtls_ecp_group_init(&group);
    mbedtls_ecp_point_init(&key);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    const bool valid = mbedtls_ecp_group_load(&group, MBEDTLS_ECP_DP_SECP256R1) == 0 &&
                       mbedtls_ecp_point_read_binary(&group, &key, point, kP256PointBytes) == 0 &&
                       mbedtls_ecp_check_pubkey(&group, &key) == 0 &&
                       mbedtls_mpi_read_binary(&r, signature, kP256SignatureBytes / 2) == 0 &&
                       mbedtls_mpi_read_binary(&s, signature + kP256SignatureBytes / 2, kP256SignatureBytes / 2) == 0 &&
                       mbedtls_ecdsa_verify(&group, digest, kSha256Bytes, &key, &r, &s) == 0;
    mbedtls_mpi_free(&s);
    mbedtls_mpi_free(&r);
    mbedtls_ecp_point_free(&key);
    mbedtls_ecp_group_free(&group);
    return valid;
  }
};

bool hashPartition(const esp_partition_t* partition, uint32_t size, uint8_t* digest) {
  if (partition == nullptr || size == 0 || size > partition->size) return false;
  mbedtls_sha256_context context;
  mbedtls_sha256_init(&context);
#if MBEDTLS_VERSION_MAJOR >= 3
  bool ok = mbedtls_sha256_starts(&context, 0) == 0;
#else
  bool ok = mbedtls_sha256_starts_ret(&context, 0) == 0;
#endif
  static uint8_t chunk[4096];
  for (uint32_t offset = 0; ok && offset < size;) {
    const uint32_t length = size - offset < sizeof chunk ? size - offset : sizeof chunk;
    ok = esp_partition_read(partition, offset, chunk, length) == ESP_OK;
#if MBEDTLS_VERSION_MAJOR >= 3
    ok = ok && mbedtls_sha256_update(&context, chunk, length) == 0;
#else
    ok = ok && mbedtls_sha256_update_ret(&context, chunk, length) == 0;
#endif
    offset += length;
  }
#if MBEDTLS_VERSION_MAJOR >= 3
  ok = ok && mbedtls_sha256_finish(&context, digest) == 0;
#else
  ok = ok && mbedtls_sha256_finish_ret(&context, digest) == 0;
#endif
  mbedtls_sha256_free(&context);
  return ok;
}

}  // namespace

SignatureCheck checkInstalledImage(const char* publicKeyBase64, const char* signatureBase64, uint32_t size) {
  if (publicKeyBase64[0] == '\0') return SignatureCheck::NoKey;
  uint8_t digest[kSha256Bytes];
  if (!hashPartition(esp_ota_get_boot_partition(), size, digest)) return SignatureCheck::Missing;
  const MbedtlsVerifier verifier;
  return checkImageSignature(verifier, publicKeyBase64, digest, signatureBase64);
}

void refuseInstalledImage() {
  const esp_partition_t* running = esp_ota_get_running_partition();
  if (running != nullptr) esp_ota_set_boot_partition(running);
}

}  // namespace webide
