#include "flat_json.h"

#include <string.h>

namespace webide {

namespace {

const int kMaxSkipDepth = 8;
const size_t kMaxKeyLength = 32;

struct Cursor {
  const char* position;
  const char* end;
};

void skipWhitespace(Cursor& cursor) {
  while (cursor.position < cursor.end) {
    const char c = *cursor.position;
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
    ++cursor.position;
  }
}

bool consume(Cursor& cursor, char expected) {
  skipWhitespace(cursor);
  if (cursor.position >= cursor.end || *cursor.position != expected) return false;
  ++cursor.position;
  return true;
}

bool peekIs(Cursor& cursor, char expected) {
  skipWhitespace(cursor);
  return cursor.position < cursor.end && *cursor.position == expected;
}

bool consumeLiteral(Cursor& cursor, const char* literal) {
  const size_t length = strlen(literal);
  if (static_cast<size_t>(cursor.end - cursor.position) < length) return false;
  if (memcmp(cursor.position, literal, length) != 0) return false;
  cursor.position += length;
  return true;
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool readHex4(Cursor& cursor, uint32_t& value) {
  if (cursor.end - cursor.position < 4) return false;
  value = 0;
  for (int i = 0; i < 4; ++i) {
    const int digit = hexDigit(cursor.position[i]);
    if (digit < 0) return false;
    value = (value << 4) | static_cast<uint32_t>(digit);
  }
  cursor.position += 4;
  return true;
}

/** Appends bytes to a bounded output; `overflow` records that something did not fit. */
struct Output {
  char* buffer;
  size_t capacity;
  size_t length;
  bool overflow;

  void append(char c) {
    if (buffer != nullptr && length + 1 < capacity) {
      buffer[length++] = c;
      buffer[length] = '\0';
    } else {
      overflow = true;
    }
  }
};

void appendUtf8(Output& out, uint32_t codePoint) {
  if (codePoint < 0x80) {
    out.append(static_cast<char>(codePoint));
  } else if (codePoint < 0x800) {
    out.append(static_cast<char>(0xC0 | (codePoint >> 6)));
    out.append(static_cast<char>(0x80 | (codePoint & 0x3F)));
  } else if (codePoint < 0x10000) {
    out.append(static_cast<char>(0xE0 | (codePoint >> 12)));
    out.append(static_cast<char>(0x80 | ((codePoint >> 6) & 0x3F)));
    out.append(static_cast<char>(0x80 | (codePoint & 0x3F)));
  } else {
    out.append(static_cast<char>(0xF0 | (codePoint >> 18)));
    out.append(static_cast<char>(0x80 | ((codePoint >> 12) & 0x3F)));
    out.append(static_cast<char>(0x80 | ((codePoint >> 6) & 0x3F)));
    out.append(static_cast<char>(0x80 | (codePoint & 0x3F)));
  }
}

bool readUnicodeEscape(Cursor& cursor, Output& out) {
  uint32_t unit = 0;
  if (!readHex4(cursor, unit)) return false;
  if (unit >= 0xDC00 && unit <= 0xDFFF) return false;
  if (unit >= 0xD800 && unit <= 0xDBFF) {
    uint32_t low = 0;
    if (!consumeLiteral(cursor, "\\u") || !readHex4(cursor, low)) return false;
    if (low < 0xDC00 || low > 0xDFFF) return false;
    unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
  }
  appendUtf8(out, unit);
  return true;
}

bool readEscape(Cursor& cursor, Output& out) {
  if (cursor.position >= cursor.end) return false;
  const char c = *cursor.position++;
  switch (c) {
    case '"': out.append('"'); return true;
    case '\\': out.append('\\'); return true;
    case '/': out.append('/'); return true;
    case 'b': out.append('\b'); return true;
    case 'f': out.append('\f'); return true;
    case 'n': out.append('\n'); return true;
    case 'r': out.append('\r'); return true;
    case 't': out.append('\t'); return true;
    case 'u': return readUnicodeEscape(cursor, out);
    default: return false;
  }
}

/** Reads a JSON string (cursor on the opening quote) into `out`; false on malformed input. */
bool readString(Cursor& cursor, Output& out) {
  if (!consume(cursor, '"')) return false;
  while (cursor.position < cursor.end) {
    const unsigned char c = static_cast<unsigned char>(*cursor.position++);
    if (c == '"') return true;
    if (c < 0x20) return false;
    if (c == '\\') {
      if (!readEscape(cursor, out)) return false;
    } else {
      out.append(static_cast<char>(c));
    }
  }
  return false;
}

bool skipNumber(Cursor& cursor) {
  const char* start = cursor.position;
  while (cursor.position < cursor.end && strchr("+-0123456789.eE", *cursor.position) != nullptr) {
    ++cursor.position;
  }
  return cursor.position > start;
}

bool skipValue(Cursor& cursor, int depth);

bool skipContainer(Cursor& cursor, int depth, char close, bool keyed) {
  if (depth >= kMaxSkipDepth) return false;
  ++cursor.position;
  if (consume(cursor, close)) return true;
  do {
    if (keyed) {
      Output ignored = {nullptr, 0, 0, false};
      if (!readString(cursor, ignored) || !consume(cursor, ':')) return false;
    }
    if (!skipValue(cursor, depth + 1)) return false;
  } while (consume(cursor, ','));
  return consume(cursor, close);
}

bool skipValue(Cursor& cursor, int depth) {
  skipWhitespace(cursor);
  if (cursor.position >= cursor.end) return false;
  switch (*cursor.position) {
    case '"': {
      Output ignored = {nullptr, 0, 0, false};
      return readString(cursor, ignored);
    }
    case '{': return skipContainer(cursor, depth, '}', true);
    case '[': return skipContainer(cursor, depth, ']', false);
    case 't': return consumeLiteral(cursor, "true");
    case 'f': return consumeLiteral(cursor, "false");
    case 'n': return consumeLiteral(cursor, "null");
    default: return skipNumber(cursor);
  }
}

JsonError readBool(Cursor& cursor, FieldSpec& field) {
  bool value = false;
  if (consumeLiteral(cursor, "true")) {
    value = true;
  } else if (!consumeLiteral(cursor, "false")) {
    return skipValue(cursor, 0) ? JsonError::WrongType : JsonError::Syntax;
  }
  *static_cast<bool*>(field.destination) = value;
  return JsonError::None;
}

JsonError readUInt32(Cursor& cursor, FieldSpec& field) {
  const char* start = cursor.position;
  uint64_t value = 0;
  while (cursor.position < cursor.end && *cursor.position >= '0' && *cursor.position <= '9') {
    value = value * 10 + static_cast<uint64_t>(*cursor.position - '0');
    if (value > 0xFFFFFFFFull) return JsonError::WrongType;
    ++cursor.position;
  }
  const bool integerEnds = cursor.position == cursor.end || strchr(".eE", *cursor.position) == nullptr;
  if (cursor.position == start || !integerEnds || (*start == '0' && cursor.position - start > 1)) {
    cursor.position = start;
    return skipValue(cursor, 0) ? JsonError::WrongType : JsonError::Syntax;
  }
  *static_cast<uint32_t*>(field.destination) = static_cast<uint32_t>(value);
  return JsonError::None;
}

JsonError readStringField(Cursor& cursor, FieldSpec& field) {
  char* destination = static_cast<char*>(field.destination);
  destination[0] = '\0';
  if (consumeLiteral(cursor, "null")) return JsonError::None;
  if (!peekIs(cursor, '"')) return skipValue(cursor, 0) ? JsonError::WrongType : JsonError::Syntax;
  Output out = {destination, field.capacity, 0, false};
  if (!readString(cursor, out)) return JsonError::Syntax;
  return out.overflow ? JsonError::FieldTooLong : JsonError::None;
}

JsonError readArrayField(Cursor& cursor, FieldSpec& field) {
  JsonSpan& span = *static_cast<JsonSpan*>(field.destination);
  span.text = cursor.position;
  span.length = 0;
  if (consumeLiteral(cursor, "null")) return JsonError::None;
  if (!peekIs(cursor, '[')) return skipValue(cursor, 0) ? JsonError::WrongType : JsonError::Syntax;
  span.text = cursor.position;
  if (!skipValue(cursor, 0)) return JsonError::Syntax;
  span.length = static_cast<size_t>(cursor.position - span.text);
  return JsonError::None;
}

JsonError readField(Cursor& cursor, FieldSpec& field) {
  skipWhitespace(cursor);
  switch (field.kind) {
    case FieldKind::Bool: return readBool(cursor, field);
    case FieldKind::UInt32: return readUInt32(cursor, field);
    case FieldKind::Array: return readArrayField(cursor, field);
    default: return readStringField(cursor, field);
  }
}

FieldSpec* findField(FieldSpec* fields, size_t fieldCount, const char* key) {
  for (size_t i = 0; i < fieldCount; ++i) {
    if (strcmp(fields[i].name, key) == 0) return &fields[i];
  }
  return nullptr;
}

JsonError readMember(Cursor& cursor, FieldSpec* fields, size_t fieldCount) {
  char key[kMaxKeyLength + 1] = "";
  Output keyOut = {key, sizeof key, 0, false};
  if (!readString(cursor, keyOut) || !consume(cursor, ':')) return JsonError::Syntax;
  FieldSpec* field = keyOut.overflow ? nullptr : findField(fields, fieldCount, key);
  if (field == nullptr) return skipValue(cursor, 0) ? JsonError::None : JsonError::Syntax;
  if (field->present) return JsonError::DuplicateField;
  field->present = true;
  return readField(cursor, *field);
}

JsonError checkRequired(const FieldSpec* fields, size_t fieldCount) {
  for (size_t i = 0; i < fieldCount; ++i) {
    if (fields[i].required && !fields[i].present) return JsonError::MissingField;
  }
  return JsonError::None;
}

}  // namespace

JsonError parseFlatObject(const char* text, size_t length, FieldSpec* fields, size_t fieldCount) {
  for (size_t i = 0; i < fieldCount; ++i) fields[i].present = false;
  if (text == nullptr) return JsonError::Syntax;
  if (length > kMaxServerReplyBytes) return JsonError::TooLarge;
  Cursor cursor = {text, text + length};
  if (!consume(cursor, '{')) return JsonError::Syntax;
  if (!consume(cursor, '}')) {
    do {
      const JsonError error = readMember(cursor, fields, fieldCount);
      if (error != JsonError::None) return error;
    } while (consume(cursor, ','));
    if (!consume(cursor, '}')) return JsonError::Syntax;
  }
  skipWhitespace(cursor);
  if (cursor.position != cursor.end) return JsonError::Syntax;
  return checkRequired(fields, fieldCount);
}

bool nextArrayElement(const JsonSpan& array, size_t& offset, JsonSpan& element) {
  element.text = nullptr;
  element.length = 0;
  if (array.text == nullptr || array.length < 2 || offset >= array.length) return false;
  Cursor cursor = {array.text + offset, array.text + array.length};
  if (offset == 0) {
    if (!consume(cursor, '[')) return false;
    if (consume(cursor, ']')) {
      offset = array.length;
      return false;
    }
  } else if (!consume(cursor, ',')) {
    offset = array.length;  // the closing bracket (or bad text): no more elements
    return false;
  }
  skipWhitespace(cursor);
  const char* start = cursor.position;
  if (!skipValue(cursor, 1)) {
    offset = array.length;
    return false;
  }
  element.text = start;
  element.length = static_cast<size_t>(cursor.position - start);
  offset = static_cast<size_t>(cursor.position - array.text);
  return true;
}

const char* jsonErrorName(JsonError error) {
  switch (error) {
    case JsonError::None: return "ok";
    case JsonError::TooLarge: return "reply too large";
    case JsonError::Syntax: return "malformed JSON";
    case JsonError::WrongType: return "field has the wrong type";
    case JsonError::MissingField: return "required field missing";
    case JsonError::FieldTooLong: return "field too long";
    case JsonError::DuplicateField: return "duplicate field";
    case JsonError::BadDigest: return "digest is not hex of the right length";
  }
  return "unknown error";
}

}  // namespace webide
