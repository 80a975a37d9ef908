// A bounded, allocation-free reader for the flat JSON objects the server sends to devices.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace webide {

const size_t kMaxServerReplyBytes = 2048;

enum class JsonError : uint8_t {
  None,
  TooLarge,
  Syntax,
  WrongType,
  MissingField,
  FieldTooLong,
  DuplicateField,
  BadDigest,
};

enum class FieldKind : uint8_t { String, Bool, UInt32, Array };

/** A piece of the parsed text: an Array field's whole "[...]" (length 0 when absent or null). */
struct JsonSpan {
  const char* text;
  size_t length;
};

/** Where one expected top-level field of an object goes; `null` for a String field reads as "". */
struct FieldSpec {
  const char* name;
  FieldKind kind;
  void* destination;
  size_t capacity;  // bytes of the destination buffer, String fields only (an Array field's is a JsonSpan)
  bool required;
  bool present;     // set by parseFlatObject
};

/**
 * Parses one JSON object of at most kMaxServerReplyBytes into the given fields.
 * Unknown keys (with values of any shape, nested up to a small depth) are skipped so the server can grow
 * its replies; duplicate known keys, wrong types and overlong strings are errors rather than guesses.
 */
JsonError parseFlatObject(const char* text, size_t length, FieldSpec* fields, size_t fieldCount);

/**
 * The elements of an array an Array field captured, one at a time: `offset` starts at 0 and is advanced past each
 * element; `element` is its raw text (e.g. one "{...}" to give parseFlatObject). False at the end or on bad text.
 */
bool nextArrayElement(const JsonSpan& array, size_t& offset, JsonSpan& element);

/** Stable name of an error for logs and status reports. */
const char* jsonErrorName(JsonError error);

}  // namespace webide
