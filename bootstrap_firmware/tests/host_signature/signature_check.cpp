// Host check of a server-signed image with the agent's portable signature code and an OpenSSL verifier.
//
// Usage: signature_check <public key, base64> <image file> <signature, base64>
// Prints the verdict's name; exits 0 only for a valid signature.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <stdio.h>

#include "core/signature.h"

namespace {

/** OpenSSL's ECDSA verification of a SHA-256 digest, for the host; the ESP32 layer does the same with mbedTLS. */
class OpenSslVerifier : public webide::SignatureVerifier {
 public:
  bool verifyP256(const uint8_t* point, const uint8_t* digest, const uint8_t* signature) const override {
    EVP_PKEY* key = publicKey(point);
    if (key == nullptr) return false;
    unsigned char* der = nullptr;
    int derLength = 0;
    ECDSA_SIG* sig = ECDSA_SIG_new();
    BIGNUM* r = BN_bin2bn(signature, 32, nullptr);
    BIGNUM* s = BN_bin2bn(signature + 32, 32, nullptr);
    if (sig != nullptr && r != nullptr && s != nullptr && ECDSA_SIG_set0(sig, r, s) == 1) {
      r = s = nullptr;  // owned by sig now
      derLength = i2d_ECDSA_SIG(sig, &der);
    }
    bool valid = false;
    EVP_PKEY_CTX* context = EVP_PKEY_CTX_new(key, nullptr);
    if (context != nullptr && derLength > 0 && EVP_PKEY_verify_init(context) == 1) {
      valid = EVP_PKEY_verify(context, der, static_cast<size_t>(derLength), digest, webide::kSha256Bytes) == 1;
    }
    EVP_PKEY_CTX_free(context);
    OPENSSL_free(der);
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    EVP_PKEY_free(key);
    return valid;
  }

 private:
  static EVP_PKEY* publicKey(const uint8_t* point) {
    char group[] = "prime256v1";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<uint8_t*>(point),
                                          webide::kP256PointBytes),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY* key = nullptr;
    EVP_PKEY_CTX* context = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
    if (context == nullptr || EVP_PKEY_fromdata_init(context) != 1 ||
        EVP_PKEY_fromdata(context, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
      key = nullptr;
    }
    EVP_PKEY_CTX_free(context);
    return key;
  }
};

bool sha256OfFile(const char* path, uint8_t* digest) {
  FILE* file = fopen(path, "rb");
  if (file == nullptr) return false;
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  bool ok = context != nullptr && EVP_DigestInit_ex(context, EVP_sha256(), nullptr) == 1;
  unsigned char buffer[4096];
  size_t read = 0;
  while (ok && (read = fread(buffer, 1, sizeof buffer, file)) > 0) ok = EVP_DigestUpdate(context, buffer, read) == 1;
  unsigned int length = 0;
  ok = ok && ferror(file) == 0 && EVP_DigestFinal_ex(context, digest, &length) == 1 && length == webide::kSha256Bytes;
  EVP_MD_CTX_free(context);
  fclose(file);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s <public key base64> <image file> <signature base64>\n", argv[0]);
    return 2;
  }
  uint8_t digest[webide::kSha256Bytes];
  if (!sha256OfFile(argv[2], digest)) {
    fprintf(stderr, "cannot read %s\n", argv[2]);
    return 2;
  }
  OpenSslVerifier verifier;
  const webide::SignatureCheck check = webide::checkImageSignature(verifier, argv[1], digest, argv[3]);
  printf("%s\n", webide::signatureCheckName(check));
  return check == webide::SignatureCheck::Valid ? 0 : 1;
}
