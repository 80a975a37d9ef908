#include "server_replies.h"

#include <string.h>

#include "digest.h"
#include "live_session.h"

namespace webide {

namespace {

JsonError validateOffer(const Manifest& manifest) {
  const bool hasSha256 = manifest.sha256[0] != '\0';
  if (hasSha256 && !isHexDigest(manifest.sha256, kSha256HexLength)) return JsonError::BadDigest;
  if (!manifest.updateAvailable) return JsonError::None;
  if (manifest.url[0] == '\0' || manifest.size == 0) return JsonError::MissingField;
  if (!isHexDigest(manifest.md5, kMd5HexLength)) return JsonError::BadDigest;
  return JsonError::None;
}

}  // namespace

JsonError parseManifest(const char* text, size_t length, Manifest& out) {
  memset(&out, 0, sizeof out);
  FieldSpec fields[] = {
      {"updateAvailable", FieldKind::Bool, &out.updateAvailable, 0, true, false},
      {"latestVersion", FieldKind::String, out.latestVersion, sizeof out.latestVersion, false, false},
      {"currentVersion", FieldKind::String, out.currentVersion, sizeof out.currentVersion, false, false},
      {"url", FieldKind::String, out.url, sizeof out.url, false, false},
      {"md5", FieldKind::String, out.md5, sizeof out.md5, false, false},
      {"sha256", FieldKind::String, out.sha256, sizeof out.sha256, false, false},
      {"size", FieldKind::UInt32, &out.size, 0, false, false},
      {"signature", FieldKind::String, out.signature, sizeof out.signature, false, false},
  };
  const JsonError error = parseFlatObject(text, length, fields, sizeof fields / sizeof fields[0]);
  if (error != JsonError::None) return error;
  return validateOffer(out);
}

JsonError parseHeartbeatReply(const char* text, size_t length, HeartbeatReply& out) {
  memset(&out, 0, sizeof out);
  FieldSpec fields[] = {
      {"success", FieldKind::Bool, &out.success, 0, true, false},
      {"update_available", FieldKind::Bool, &out.updateAvailable, 0, false, false},
      {"commands", FieldKind::Array, &out.commands, 0, false, false},
      {"mqtt", FieldKind::String, out.mqttUrl, sizeof out.mqttUrl, false, false},
  };
  const JsonError error = parseFlatObject(text, length, fields, sizeof fields / sizeof fields[0]);
  if (error != JsonError::None) return error;
  if (!validBrokerUrl(out.mqttUrl)) out.mqttUrl[0] = '\0';
  return JsonError::None;
}

bool manifestOffersNewImage(const Manifest& manifest, const char* runningMd5) {
  return manifest.updateAvailable && !digestsEqual(manifest.md5, runningMd5);
}

}  // namespace webide
