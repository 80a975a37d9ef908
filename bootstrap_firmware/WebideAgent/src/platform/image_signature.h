// Checking a freshly written image's signature on the ESP32 (mbedTLS) before it may boot.
#pragma once

#include <stdint.h>

#include "../core/signature.h"

namespace webide {

/**
 * Hashes the first `size` bytes of the image just written (the partition HTTPUpdate made the boot partition) and
 * checks `signatureBase64` against the provisioned key.
 */
SignatureCheck checkInstalledImage(const char* publicKeyBase64, const char* signatureBase64, uint32_t size);

/** Makes the running image the boot image again, so a refused image never boots. */
void refuseInstalledImage();

}  // namespace webide
