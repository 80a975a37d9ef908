#include "urls.h"

#include <string.h>

namespace webide {

namespace {

const char* const kEndpointPrefix[] = {"/", "/api/ota/", "/api/ota/", "/api/devices/", "/api/devices/", "/api/devices/"};
const char* const kEndpointSuffix[] = {".ino.bin", "/check", "/status", "/heartbeat", "/results", "/logs"};

struct Builder {
  char* out;
  size_t capacity;
  size_t length;
  bool overflow;

  void put(char c) {
    if (length + 1 >= capacity) {
      overflow = true;
      return;
    }
    out[length++] = c;
    out[length] = '\0';
  }
  void putSpan(const char* text, size_t count) {
    for (size_t i = 0; i < count; ++i) put(text[i]);
  }
  void putText(const char* text) { putSpan(text, strlen(text)); }
};

bool isUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

void putPercentEncoded(Builder& builder, const char* text) {
  static const char kHex[] = "0123456789ABCDEF";
  for (const char* p = text; *p != '\0'; ++p) {
    if (isUnreserved(*p)) {
      builder.put(*p);
    } else {
      const unsigned char c = static_cast<unsigned char>(*p);
      builder.put('%');
      builder.put(kHex[c >> 4]);
      builder.put(kHex[c & 0x0F]);
    }
  }
}

size_t schemeLength(const char* url) {
  if (strncmp(url, "http://", 7) == 0) return 7;
  if (strncmp(url, "https://", 8) == 0) return 8;
  return 0;
}

/** Length of "scheme://host[:port]" at the start of an http(s) URL, or 0. */
size_t originLength(const char* url) {
  const size_t scheme = schemeLength(url);
  if (scheme == 0) return 0;
  const size_t host = strcspn(url + scheme, "/?#");
  return host == 0 ? 0 : scheme + host;
}

bool finish(Builder& builder) {
  if (builder.overflow && builder.capacity > 0) builder.out[0] = '\0';
  return !builder.overflow;
}

}  // namespace

bool isHttpUrl(const char* url) {
  return url != nullptr && originLength(url) > 0 && strpbrk(url, " \t\r\n") == nullptr;
}

bool buildEndpointUrl(const char* server, Endpoint endpoint, const char* productId, char* out, size_t capacity) {
  if (out == nullptr || capacity == 0) return false;
  out[0] = '\0';
  if (!isHttpUrl(server) || productId == nullptr || productId[0] == '\0') return false;
  size_t base = strlen(server);
  while (base > originLength(server) && server[base - 1] == '/') --base;
  const size_t index = static_cast<size_t>(endpoint);
  Builder builder = {out, capacity, 0, false};
  builder.putSpan(server, base);
  builder.putText(kEndpointPrefix[index]);
  putPercentEncoded(builder, productId);
  builder.putText(kEndpointSuffix[index]);
  return finish(builder);
}

bool resolveServerUrl(const char* server, const char* reference, char* out, size_t capacity) {
  if (out == nullptr || capacity == 0) return false;
  out[0] = '\0';
  if (reference == nullptr || strpbrk(reference, " \t\r\n") != nullptr) return false;
  Builder builder = {out, capacity, 0, false};
  if (isHttpUrl(reference)) {
    builder.putText(reference);
  } else if (reference[0] == '/' && reference[1] != '/' && isHttpUrl(server)) {
    builder.putSpan(server, originLength(server));
    builder.putText(reference);
  } else {
    return false;
  }
  return finish(builder);
}

}  // namespace webide
