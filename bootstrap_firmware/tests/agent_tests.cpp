// Host tests of the agent's portable core. Each TEST is one case; run one with `agent_tests <name>`.
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/backoff.h"
#include "core/debounce.h"
#include "core/digest.h"
#include "core/flat_json.h"
#include "core/live_link.h"
#include "core/live_session.h"
#include "core/reports.h"
#include "core/server_replies.h"
#include "core/settings.h"
#include "core/signature.h"
#include "core/update_machine.h"
#include "core/urls.h"
#include "test_runner.h"

using namespace webide;

namespace {

const char* const kMd5Lower = "9e107d9d372bb6826bd81d3542a419d6";
const char* const kMd5Upper = "9E107D9D372BB6826BD81D3542A419D6";
const char* const kOtherMd5 = "e4d909c290d0fb1ca068ffaddf22cbd0";
const char* const kSha256 = "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592";

JsonError parse(const char* text, Manifest& manifest) { return parseManifest(text, strlen(text), manifest); }

/** Feeds a constant raw level every millisecond from `fromMs` to `toMs` and counts the events seen. */
struct PressLog {
  int shortPresses;
  int longPresses;
};

void feed(ButtonDebouncer& button, bool level, uint32_t fromMs, uint32_t toMs, PressLog& log) {
  for (uint32_t now = fromMs; now != toMs; ++now) {
    const ButtonEvent event = button.update(level, now);
    if (event == ButtonEvent::ShortPress) ++log.shortPresses;
    if (event == ButtonEvent::LongPress) ++log.longPresses;
  }
}

}  // namespace

// ---------------------------------------------------------------- digests

TEST(digest_equal_ignores_case) {
  CHECK(digestsEqual(kMd5Lower, kMd5Upper));
  CHECK(digestsEqual(kMd5Upper, kMd5Lower));
  CHECK(digestsEqual(kSha256, kSha256));
}

TEST(digest_different_values_are_not_equal) {
  CHECK(!digestsEqual(kMd5Lower, kOtherMd5));
  CHECK(!digestsEqual(kMd5Lower, kSha256));
}

TEST(digest_rejects_malformed_input) {
  CHECK(!digestsEqual("", ""));
  CHECK(!digestsEqual(nullptr, kMd5Lower));
  CHECK(!digestsEqual("zz107d9d372bb6826bd81d3542a419d6", "zz107d9d372bb6826bd81d3542a419d6"));
  CHECK(!digestsEqual("abc", "abc"));
  CHECK(!isHexDigest(kMd5Lower, kSha256HexLength));
  CHECK(isHexDigest(kMd5Upper, kMd5HexLength));
  CHECK(!isHexDigest("9e107d9d372bb6826bd81d3542a419d ", kMd5HexLength));
}

// ---------------------------------------------------------------- manifest

TEST(manifest_valid_offer) {
  char text[512];
  snprintf(text, sizeof text,
           "{\"updateAvailable\": true, \"latestVersion\": \"abc123\", \"currentVersion\": \"def\", "
           "\"url\": \"http://host:5000/bot_001.ino.bin\", \"md5\": \"%s\", \"sha256\": \"%s\", \"size\": 1048576}",
           kMd5Upper, kSha256);
  Manifest manifest;
  CHECK(parse(text, manifest) == JsonError::None);
  CHECK(manifest.updateAvailable);
  CHECK_STR(manifest.latestVersion, "abc123");
  CHECK_STR(manifest.currentVersion, "def");
  CHECK_STR(manifest.url, "http://host:5000/bot_001.ino.bin");
  CHECK_STR(manifest.md5, kMd5Upper);
  CHECK_STR(manifest.sha256, kSha256);
  CHECK(manifest.size == 1048576u);
  CHECK(manifestOffersNewImage(manifest, kOtherMd5));
  CHECK(!manifestOffersNewImage(manifest, kMd5Lower));
}

TEST(manifest_no_update_needs_only_the_flag) {
  Manifest manifest;
  CHECK(parse("{\"updateAvailable\":false,\"url\":null,\"md5\":null,\"extra\":{\"a\":[1,2,{\"b\":null}]}}",
              manifest) == JsonError::None);
  CHECK(!manifest.updateAvailable);
  CHECK_STR(manifest.url, "");
  CHECK(!manifestOffersNewImage(manifest, kOtherMd5));
}

TEST(manifest_missing_fields) {
  Manifest manifest;
  CHECK(parse("{}", manifest) == JsonError::MissingField);
  CHECK(parse("{\"url\":\"http://h/x\"}", manifest) == JsonError::MissingField);
  char text[256];
  snprintf(text, sizeof text, "{\"updateAvailable\":true,\"md5\":\"%s\",\"size\":10}", kMd5Lower);
  CHECK(parse(text, manifest) == JsonError::MissingField);
  snprintf(text, sizeof text, "{\"updateAvailable\":true,\"md5\":\"%s\",\"url\":\"http://h/x\"}", kMd5Lower);
  CHECK(parse(text, manifest) == JsonError::MissingField);
}

TEST(manifest_wrong_types) {
  Manifest manifest;
  CHECK(parse("{\"updateAvailable\":\"yes\"}", manifest) == JsonError::WrongType);
  CHECK(parse("{\"updateAvailable\":1}", manifest) == JsonError::WrongType);
  CHECK(parse("{\"updateAvailable\":false,\"url\":42}", manifest) == JsonError::WrongType);
  CHECK(parse("{\"updateAvailable\":false,\"size\":\"10\"}", manifest) == JsonError::WrongType);
  CHECK(parse("{\"updateAvailable\":false,\"size\":-1}", manifest) == JsonError::WrongType);
  CHECK(parse("{\"updateAvailable\":false,\"size\":1.5}", manifest) == JsonError::WrongType);
  CHECK(parse("{\"updateAvailable\":false,\"size\":1e3}", manifest) == JsonError::WrongType);
  CHECK(parse("{\"updateAvailable\":false,\"size\":4294967296}", manifest) == JsonError::WrongType);
  CHECK(parse("{\"updateAvailable\":false,\"size\":4294967295}", manifest) == JsonError::None);
  CHECK(manifest.size == 4294967295u);
}

TEST(manifest_bad_digests) {
  Manifest manifest;
  CHECK(parse("{\"updateAvailable\":true,\"url\":\"/x.bin\",\"md5\":\"nothex\",\"size\":5}", manifest) ==
        JsonError::BadDigest);
  CHECK(parse("{\"updateAvailable\":false,\"sha256\":\"abcd\"}", manifest) == JsonError::BadDigest);
}

TEST(manifest_malformed_json) {
  const char* const broken[] = {
      "",
      "[]",
      "{",
      "{\"updateAvailable\":true",
      "{\"updateAvailable\":tru}",
      "{\"updateAvailable\":false,}",
      "{\"updateAvailable\":false} trailing",
      "{\"updateAvailable\":false,\"url\":\"unterminated}",
      "{\"updateAvailable\":false,\"url\":\"bad \\q escape\"}",
      "{\"updateAvailable\":false,\"url\":\"raw\ncontrol\"}",
      "{\"updateAvailable\":false,\"url\":\"\\ud800 lone surrogate\"}",
      "{\"updateAvailable\":false,\"url\":\"\\u12\"}",
      "{updateAvailable:false}",
      "{\"updateAvailable\":false,\"size\":12",
  };
  for (size_t i = 0; i < sizeof broken / sizeof broken[0]; ++i) {
    Manifest manifest;
    const JsonError error = parse(broken[i], manifest);
    if (error != JsonError::Syntax) printf("  case %zu: %s\n", i, jsonErrorName(error));
    CHECK(error == JsonError::Syntax);
  }
}

TEST(manifest_truncated_at_every_length) {
  char text[512];
  snprintf(text, sizeof text,
           "{\"updateAvailable\":true,\"url\":\"http://h/b.ino.bin\",\"md5\":\"%s\",\"size\":77,\"latestVersion\":\"v\\u00e9\"}",
           kMd5Lower);
  const size_t length = strlen(text);
  Manifest manifest;
  CHECK(parseManifest(text, length, manifest) == JsonError::None);
  for (size_t cut = 0; cut < length; ++cut) {
    const JsonError error = parseManifest(text, cut, manifest);
    CHECK(error != JsonError::None);
  }
}

TEST(manifest_huge_input_is_refused) {
  static char text[kMaxServerReplyBytes + 64];
  memset(text, ' ', sizeof text);
  memcpy(text, "{\"updateAvailable\":false}", 25);
  Manifest manifest;
  CHECK(parseManifest(text, kMaxServerReplyBytes, manifest) == JsonError::None);
  CHECK(parseManifest(text, kMaxServerReplyBytes + 1, manifest) == JsonError::TooLarge);
}

TEST(manifest_deep_nesting_is_refused) {
  char text[256] = "{\"updateAvailable\":false,\"x\":";
  for (int i = 0; i < 40; ++i) strcat(text, "[");
  for (int i = 0; i < 40; ++i) strcat(text, "]");
  strcat(text, "}");
  Manifest manifest;
  CHECK(parse(text, manifest) == JsonError::Syntax);
}

TEST(manifest_overlong_string_is_an_error) {
  char text[600];
  char longUrl[300];
  memset(longUrl, 'a', sizeof longUrl - 1);
  longUrl[sizeof longUrl - 1] = '\0';
  snprintf(text, sizeof text, "{\"updateAvailable\":false,\"url\":\"http://h/%s\"}", longUrl);
  Manifest manifest;
  CHECK(parse(text, manifest) == JsonError::FieldTooLong);
}

TEST(manifest_escaped_strings_are_decoded) {
  Manifest manifest;
  CHECK(parse("{\"updateAvailable\":false,\"latestVersion\":\"a\\\"b\\\\c\\/d\\u00e9\\ud83d\\ude00\\n\"}",
              manifest) == JsonError::None);
  CHECK_STR(manifest.latestVersion, "a\"b\\c/d\xC3\xA9\xF0\x9F\x98\x80\n");
}

TEST(manifest_duplicate_field_is_an_error) {
  Manifest manifest;
  CHECK(parse("{\"updateAvailable\":false,\"updateAvailable\":true}", manifest) == JsonError::DuplicateField);
}

TEST(manifest_unknown_long_keys_are_skipped) {
  Manifest manifest;
  CHECK(parse("{\"a_key_that_is_much_longer_than_any_known_field_name\":\"x\",\"updateAvailable\":false}",
              manifest) == JsonError::None);
}

TEST(heartbeat_reply_parsing) {
  HeartbeatReply reply;
  const char* ok = "{\"success\": true, \"update_available\": true}";
  CHECK(parseHeartbeatReply(ok, strlen(ok), reply) == JsonError::None);
  CHECK(reply.success && reply.updateAvailable);
  const char* older = "{\"success\": true}";
  CHECK(parseHeartbeatReply(older, strlen(older), reply) == JsonError::None);
  CHECK(reply.success && !reply.updateAvailable);
  const char* error = "{\"success\": false, \"error\": \"unknown bot\"}";
  CHECK(parseHeartbeatReply(error, strlen(error), reply) == JsonError::None);
  CHECK(!reply.success);
  const char* missing = "{\"error\": \"x\"}";
  CHECK(parseHeartbeatReply(missing, strlen(missing), reply) == JsonError::MissingField);
}

// ---------------------------------------------------------------- backoff

TEST(backoff_delays_stay_within_bounds) {
  Backoff backoff(1000, 60000, 12345);
  uint32_t ceiling = 1000;
  for (int attempt = 0; attempt < 20; ++attempt) {
    const uint32_t delay = backoff.nextDelayMs();
    CHECK(delay >= ceiling / 2);
    CHECK(delay <= ceiling);
    ceiling = ceiling * 2 > 60000 ? 60000 : ceiling * 2;
  }
  CHECK(backoff.failures() == 20);
}

TEST(backoff_reaches_and_keeps_the_cap) {
  Backoff backoff(500, 8000, 7);
  for (int i = 0; i < 10; ++i) backoff.nextDelayMs();
  for (int i = 0; i < 1000; ++i) {
    const uint32_t delay = backoff.nextDelayMs();
    CHECK(delay >= 4000 && delay <= 8000);
  }
}

TEST(backoff_reset_starts_over) {
  Backoff backoff(1000, 60000, 99);
  for (int i = 0; i < 8; ++i) backoff.nextDelayMs();
  backoff.reset();
  CHECK(backoff.failures() == 0);
  const uint32_t delay = backoff.nextDelayMs();
  CHECK(delay >= 500 && delay <= 1000);
}

TEST(backoff_jitter_spreads_devices) {
  uint32_t smallest = UINT32_MAX;
  uint32_t largest = 0;
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    Backoff backoff(1000, 60000, seed * 2654435761u);
    for (int i = 0; i < 5; ++i) backoff.nextDelayMs();
    const uint32_t delay = backoff.nextDelayMs();
    smallest = delay < smallest ? delay : smallest;
    largest = delay > largest ? delay : largest;
  }
  CHECK(smallest >= 16000 && largest <= 32000);
  CHECK(largest - smallest > 8000);
}

TEST(backoff_survives_zero_and_huge_values) {
  Backoff zero(0, 0, 0);
  CHECK(zero.nextDelayMs() <= 1);
  Backoff huge(0x80000000u, 0xFFFFFFFFu, 3);
  for (int i = 0; i < 40; ++i) CHECK(huge.nextDelayMs() >= 0x40000000u);
}

// ---------------------------------------------------------------- button

TEST(button_short_press) {
  ButtonDebouncer button(30, 3000);
  PressLog log = {0, 0};
  feed(button, false, 0, 100, log);
  feed(button, true, 100, 400, log);
  CHECK(button.isPressed());
  feed(button, false, 400, 500, log);
  CHECK(!button.isPressed());
  CHECK(log.shortPresses == 1);
  CHECK(log.longPresses == 0);
}

TEST(button_bounces_are_ignored) {
  ButtonDebouncer button(30, 3000);
  PressLog log = {0, 0};
  for (uint32_t now = 0; now < 200; ++now) {
    const ButtonEvent event = button.update((now / 7) % 2 == 1, now);
    CHECK(event == ButtonEvent::None);
  }
  CHECK(!button.isPressed());
  feed(button, false, 200, 300, log);
  CHECK(log.shortPresses == 0 && log.longPresses == 0);
}

TEST(button_bouncy_press_counts_once) {
  ButtonDebouncer button(30, 3000);
  PressLog log = {0, 0};
  for (uint32_t now = 0; now < 20; ++now) button.update(now % 3 == 0, now);
  feed(button, true, 20, 300, log);
  for (uint32_t now = 300; now < 315; ++now) button.update(now % 2 == 0, now);
  feed(button, false, 315, 400, log);
  CHECK(log.shortPresses == 1);
  CHECK(log.longPresses == 0);
}

TEST(button_long_press_fires_once_while_held) {
  ButtonDebouncer button(30, 3000);
  PressLog log = {0, 0};
  feed(button, true, 0, 3000, log);
  CHECK(log.longPresses == 0);
  feed(button, true, 3000, 3040, log);
  CHECK(log.longPresses == 1);
  feed(button, true, 3040, 9000, log);
  feed(button, false, 9000, 9100, log);
  CHECK(log.longPresses == 1);
  CHECK(log.shortPresses == 0);
}

TEST(button_works_across_millis_wraparound) {
  ButtonDebouncer button(30, 3000);
  PressLog log = {0, 0};
  const uint32_t start = 0xFFFFFF00u;
  feed(button, false, start, start + 10, log);
  feed(button, true, start + 10, start + 300, log);
  feed(button, false, start + 300, start + 400, log);
  CHECK(log.shortPresses == 1);
  feed(button, true, start + 400, start + 3500, log);
  CHECK(log.longPresses == 1);
}

// ---------------------------------------------------------------- update state machine

TEST(machine_check_without_update) {
  UpdateMachine machine(60000);
  CHECK(machine.boot(BootKind::Normal, 0) == UpdateAction::None);
  CHECK(machine.requestCheck() == UpdateAction::StartCheck);
  CHECK(machine.state() == UpdateState::Checking);
  CHECK(machine.requestCheck() == UpdateAction::None);
  CHECK(machine.checkAnswered(false) == UpdateAction::None);
  CHECK(machine.state() == UpdateState::Idle);
  CHECK(machine.lastOutcome() == UpdateOutcome::UpToDate);
}

TEST(machine_full_update_path) {
  UpdateMachine machine(60000);
  machine.boot(BootKind::Normal, 0);
  machine.requestCheck();
  CHECK(machine.checkAnswered(true) == UpdateAction::StartDownload);
  CHECK(machine.state() == UpdateState::Downloading);
  CHECK(machine.requestCheck() == UpdateAction::None);
  CHECK(machine.downloadFinished(true) == UpdateAction::Reboot);
  CHECK(machine.state() == UpdateState::Rebooting);
  CHECK(machine.lastOutcome() == UpdateOutcome::Installed);
}

TEST(machine_failure_paths_return_to_idle) {
  UpdateMachine machine(60000);
  machine.boot(BootKind::Normal, 0);
  machine.requestCheck();
  CHECK(machine.checkFailed() == UpdateAction::None);
  CHECK(machine.state() == UpdateState::Idle);
  CHECK(machine.lastOutcome() == UpdateOutcome::Failed);
  machine.requestCheck();
  machine.checkAnswered(true);
  CHECK(machine.downloadFinished(false) == UpdateAction::None);
  CHECK(machine.state() == UpdateState::Idle);
  CHECK(machine.lastOutcome() == UpdateOutcome::Failed);
  CHECK(machine.requestCheck() == UpdateAction::StartCheck);
}

TEST(machine_ignores_out_of_order_events) {
  UpdateMachine machine(60000);
  machine.boot(BootKind::Normal, 0);
  CHECK(machine.checkAnswered(true) == UpdateAction::None);
  CHECK(machine.downloadFinished(true) == UpdateAction::None);
  CHECK(machine.checkFailed() == UpdateAction::None);
  CHECK(machine.heartbeatAccepted() == UpdateAction::None);
  CHECK(machine.tick(1000000) == UpdateAction::None);
  CHECK(machine.state() == UpdateState::Idle);
  CHECK(machine.lastOutcome() == UpdateOutcome::None);
}

TEST(machine_confirms_after_sketch_runs_and_heartbeat_accepted) {
  UpdateMachine machine(60000);
  machine.boot(BootKind::NewImageOnProbation, 5000);
  CHECK(machine.state() == UpdateState::AwaitingConfirmation);
  CHECK(machine.heartbeatAccepted() == UpdateAction::None);
  machine.noteSketchRunning();
  CHECK(machine.heartbeatAccepted() == UpdateAction::MarkImageValid);
  CHECK(machine.state() == UpdateState::Idle);
  CHECK(machine.lastOutcome() == UpdateOutcome::Confirmed);
  CHECK(machine.tick(5000 + 120000) == UpdateAction::None);
}

TEST(machine_rolls_back_when_never_confirmed) {
  UpdateMachine machine(60000);
  machine.boot(BootKind::NewImageOnProbation, 5000);
  machine.noteSketchRunning();
  CHECK(machine.tick(5000 + 59999) == UpdateAction::None);
  CHECK(machine.tick(5000 + 60000) == UpdateAction::RollBackAndReboot);
  CHECK(machine.state() == UpdateState::Rebooting);
  CHECK(machine.lastOutcome() == UpdateOutcome::RolledBack);
  CHECK(machine.heartbeatAccepted() == UpdateAction::None);
}

TEST(machine_refuses_downloads_on_probation) {
  UpdateMachine machine(60000);
  machine.boot(BootKind::NewImageOnProbation, 0);
  CHECK(machine.requestCheck() == UpdateAction::None);
  CHECK(machine.state() == UpdateState::AwaitingConfirmation);
}

TEST(machine_reports_rollback_after_boot) {
  UpdateMachine machine(60000);
  CHECK(machine.boot(BootKind::RolledBack, 0) == UpdateAction::ReportRolledBack);
  CHECK(machine.state() == UpdateState::Idle);
  CHECK(machine.lastOutcome() == UpdateOutcome::RolledBack);
  CHECK(machine.requestCheck() == UpdateAction::StartCheck);
}

TEST(machine_probation_window_survives_wraparound) {
  UpdateMachine machine(60000);
  machine.boot(BootKind::NewImageOnProbation, 0xFFFFF000u);
  CHECK(machine.tick(0x00001000u) == UpdateAction::None);
  CHECK(machine.tick(0xFFFFF000u + 60000u) == UpdateAction::RollBackAndReboot);
}

TEST(boot_classification) {
  CHECK(classifyBoot(kMd5Lower, "", false) == BootKind::Normal);
  CHECK(classifyBoot(kMd5Lower, "", true) == BootKind::NewImageOnProbation);
  CHECK(classifyBoot(kMd5Lower, kOtherMd5, true) == BootKind::NewImageOnProbation);
  CHECK(classifyBoot(kMd5Lower, kOtherMd5, false) == BootKind::Normal);
  CHECK(classifyBoot(kMd5Lower, kMd5Upper, false) == BootKind::RolledBack);
  CHECK(classifyBoot(kMd5Lower, nullptr, false) == BootKind::Normal);
}

TEST(state_and_outcome_names) {
  CHECK_STR(updateStateName(UpdateState::Downloading), "downloading");
  CHECK_STR(updateOutcomeName(UpdateOutcome::RolledBack), "rolled back");
  CHECK_STR(updateOutcomeName(UpdateOutcome::Confirmed), "running new firmware");
}

// ---------------------------------------------------------------- reports

TEST(heartbeat_json_has_all_fields) {
  const SensorReading sensors[] = {{"temperature", 21.5}, {"distance_cm", 12}};
  HeartbeatInfo info = {"1.0.0", kMd5Lower, kSha256, 123456, 42, -61, "192.168.1.20", "24:6F:28:AA:BB:CC",
                        sensors, 2};
  char out[512];
  const size_t length = buildHeartbeatJson(info, out, sizeof out);
  CHECK(length == strlen(out));
  char expected[512];
  snprintf(expected, sizeof expected,
           "{\"fw\":\"1.0.0\",\"md5\":\"%s\",\"heap\":123456,\"uptime\":42,\"rssi\":-61,\"ip\":\"192.168.1.20\","
           "\"mac\":\"24:6F:28:AA:BB:CC\",\"sha256\":\"%s\",\"temperature\":21.5,\"distance_cm\":12}",
           kMd5Lower, kSha256);
  CHECK_STR(out, expected);
}

TEST(heartbeat_json_escapes_text) {
  const SensorReading sensors[] = {{"we\"ird\\name", 1}};
  HeartbeatInfo info = {"v\"1\n\t\x01", kMd5Lower, "", 0, 0, 0, "", "", sensors, 1};
  char out[256];
  CHECK(buildHeartbeatJson(info, out, sizeof out) > 0);
  CHECK(strstr(out, "\"fw\":\"v\\\"1\\n\\t\\u0001\"") != nullptr);
  CHECK(strstr(out, "\"we\\\"ird\\\\name\":1") != nullptr);
  CHECK(strstr(out, "sha256") == nullptr);
}

TEST(heartbeat_json_drops_shadowing_and_non_finite_sensors) {
  const SensorReading sensors[] = {{"md5", 1}, {"", 2}, {"nan", 0.0 / 0.0}, {"inf", 1.0 / 0.0}, {"ok", -3.25}};
  HeartbeatInfo info = {"1", kMd5Lower, nullptr, 0, 0, 0, "", "", sensors, 5};
  char out[256];
  CHECK(buildHeartbeatJson(info, out, sizeof out) > 0);
  CHECK(strstr(out, "\"md5\":1") == nullptr);
  CHECK(strstr(out, "nan") == nullptr);
  CHECK(strstr(out, "inf") == nullptr);
  CHECK(strstr(out, "\"ok\":-3.25}") != nullptr);
}

TEST(heartbeat_json_overflow_reports_zero) {
  HeartbeatInfo info = {"1.0.0", kMd5Lower, kSha256, 1, 2, 3, "10.0.0.1", "aa", nullptr, 0};
  char out[64];
  CHECK(buildHeartbeatJson(info, out, sizeof out) == 0);
  CHECK(strlen(out) < sizeof out);
}

TEST(status_json) {
  char out[128];
  CHECK(buildStatusJson(OtaStatus::InProgress, 50, "writing \"flash\"", out, sizeof out) > 0);
  CHECK_STR(out, "{\"status\":\"IN_PROGRESS\",\"progress\":50,\"message\":\"writing \\\"flash\\\"\"}");
  CHECK(buildStatusJson(OtaStatus::Failed, 250, "x", out, sizeof out) > 0);
  CHECK_STR(out, "{\"status\":\"FAILED\",\"progress\":100,\"message\":\"x\"}");
  CHECK(buildStatusJson(OtaStatus::Started, -4, "", out, sizeof out) > 0);
  CHECK_STR(out, "{\"status\":\"STARTED\",\"progress\":0,\"message\":\"\"}");
  CHECK(buildStatusJson(OtaStatus::Success, 100, "done", out, sizeof out) > 0);
  CHECK_STR(out, "{\"status\":\"SUCCESS\",\"progress\":100,\"message\":\"done\"}");
}

TEST(reports_round_trip_through_parser) {
  char out[128];
  buildStatusJson(OtaStatus::Failed, 3, "quote \" backslash \\ newline \n", out, sizeof out);
  char message[64];
  char status[16];
  FieldSpec fields[] = {{"status", FieldKind::String, status, sizeof status, true, false},
                        {"message", FieldKind::String, message, sizeof message, true, false}};
  CHECK(parseFlatObject(out, strlen(out), fields, 2) == JsonError::None);
  CHECK_STR(status, "FAILED");
  CHECK_STR(message, "quote \" backslash \\ newline \n");
}

// ---------------------------------------------------------------- urls

TEST(endpoint_urls) {
  char out[128];
  CHECK(buildEndpointUrl("http://host:5000", Endpoint::Firmware, "bot_001", out, sizeof out));
  CHECK_STR(out, "http://host:5000/bot_001.ino.bin");
  CHECK(buildEndpointUrl("http://host:5000/", Endpoint::Check, "bot_001", out, sizeof out));
  CHECK_STR(out, "http://host:5000/api/ota/bot_001/check");
  CHECK(buildEndpointUrl("https://ide.school.org/webide//", Endpoint::Status, "bot_001", out, sizeof out));
  CHECK_STR(out, "https://ide.school.org/webide/api/ota/bot_001/status");
  CHECK(buildEndpointUrl("http://10.0.0.2", Endpoint::Heartbeat, "bot-7", out, sizeof out));
  CHECK_STR(out, "http://10.0.0.2/api/devices/bot-7/heartbeat");
}

TEST(endpoint_urls_encode_product_id) {
  char out[128];
  CHECK(buildEndpointUrl("http://h", Endpoint::Firmware, "../admin?x=1 y", out, sizeof out));
  CHECK_STR(out, "http://h/..%2Fadmin%3Fx%3D1%20y.ino.bin");
}

TEST(endpoint_urls_refuse_bad_input) {
  char out[32];
  CHECK(!buildEndpointUrl("ftp://h", Endpoint::Firmware, "bot", out, sizeof out));
  CHECK(!buildEndpointUrl("http://", Endpoint::Firmware, "bot", out, sizeof out));
  CHECK(!buildEndpointUrl("http://h", Endpoint::Firmware, "", out, sizeof out));
  CHECK(!buildEndpointUrl("http://a-rather-long-host-name.example", Endpoint::Heartbeat, "bot", out, sizeof out));
  CHECK_STR(out, "");
}

TEST(resolve_server_urls) {
  char out[128];
  CHECK(resolveServerUrl("http://host:5000/prefix", "/bot.ino.bin?sig=ab", out, sizeof out));
  CHECK_STR(out, "http://host:5000/bot.ino.bin?sig=ab");
  CHECK(resolveServerUrl("http://host:5000", "https://cdn.example/x.bin", out, sizeof out));
  CHECK_STR(out, "https://cdn.example/x.bin");
  CHECK(!resolveServerUrl("http://host:5000", "//evil.example/x", out, sizeof out));
  CHECK(!resolveServerUrl("http://host:5000", "relative.bin", out, sizeof out));
  CHECK(!resolveServerUrl("http://host:5000", "/with space", out, sizeof out));
  CHECK(!resolveServerUrl("not a url", "/x", out, sizeof out));
}

// ---------------------------------------------------------------- settings

TEST(settings_validation) {
  DeviceSettings settings;
  memset(&settings, 0, sizeof settings);
  copyText(settings.ssid, sizeof settings.ssid, "ClassroomWiFi");
  copyText(settings.password, sizeof settings.password, "secret123");
  copyText(settings.server, sizeof settings.server, "http://10.0.0.2:5000");
  copyText(settings.productId, sizeof settings.productId, "bot_001");
  copyText(settings.token, sizeof settings.token, "tok");
  CHECK(validateSettings(settings) == SettingsError::None);
  copyText(settings.password, sizeof settings.password, "");
  CHECK(validateSettings(settings) == SettingsError::None);
  copyText(settings.password, sizeof settings.password, "short");
  CHECK(validateSettings(settings) == SettingsError::PasswordLength);
  copyText(settings.password, sizeof settings.password, "secret123");
  copyText(settings.server, sizeof settings.server, "10.0.0.2:5000");
  CHECK(validateSettings(settings) == SettingsError::ServerUrl);
  copyText(settings.server, sizeof settings.server, "http://10.0.0.2:5000");
  copyText(settings.productId, sizeof settings.productId, "bot/001");
  CHECK(validateSettings(settings) == SettingsError::ProductId);
  copyText(settings.productId, sizeof settings.productId, "bot_001");
  copyText(settings.token, sizeof settings.token, "");
  CHECK(validateSettings(settings) == SettingsError::TokenMissing);
  copyText(settings.token, sizeof settings.token, "tok");
  copyText(settings.ssid, sizeof settings.ssid, "");
  CHECK(validateSettings(settings) == SettingsError::SsidLength);
  CHECK(strlen(settingsErrorMessage(SettingsError::ServerUrl)) > 10);
}

TEST(copy_text_truncates_safely) {
  char small[4];
  CHECK(!copyText(small, sizeof small, "abcdef"));
  CHECK_STR(small, "abc");
  CHECK(copyText(small, sizeof small, nullptr));
  CHECK_STR(small, "");
}

TEST(html_escaping) {
  char out[128];
  CHECK(escapeHtml("<script>alert('x')</script> & \"q\"", out, sizeof out));
  CHECK_STR(out, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
  char tiny[8];
  CHECK(!escapeHtml("ab<cd", tiny, sizeof tiny));
  CHECK_STR(tiny, "ab&lt;c");
  CHECK(!escapeHtml("abc&", tiny, 6));
  CHECK_STR(tiny, "abc");
}

/** Records what reached the platform's primitive and answers as told. */
class FakeVerifier : public SignatureVerifier {
 public:
  explicit FakeVerifier(bool answer) : answer_(answer) {}
  bool verifyP256(const uint8_t* point, const uint8_t* digest, const uint8_t* signature) const override {
    ++calls;
    memcpy(lastPoint, point, sizeof lastPoint);
    memcpy(lastSignature, signature, sizeof lastSignature);
    lastDigestFirst = digest[0];
    return answer_;
  }
  mutable int calls = 0;
  mutable uint8_t lastPoint[kP256PointBytes] = {};
  mutable uint8_t lastSignature[kP256SignatureBytes] = {};
  mutable uint8_t lastDigestFirst = 0;

 private:
  bool answer_;
};

// 0x04 followed by 64 bytes 0x01..0x40, and 64 bytes 0xA0..0xDF, in base64.
const char* const kPointBase64 =
    "BAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0A=";
const char* const kSignatureBase64 =
    "oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr/AwcLDxMXGx8jJysvMzc7P0NHS09TV1tfY2drb3N3e3w==";

TEST(manifest_carries_the_image_signature) {
  Manifest manifest;
  char text[512];
  snprintf(text, sizeof text,
           "{\"updateAvailable\": true, \"url\": \"/bot.ino.bin\", \"md5\": \"%s\", \"size\": 10, "
           "\"signature\": \"%s\"}",
           kMd5Lower, kSignatureBase64);
  CHECK(parse(text, manifest) == JsonError::None);
  CHECK_STR(manifest.signature, kSignatureBase64);
  CHECK(parse("{\"updateAvailable\": false, \"signature\": null}", manifest) == JsonError::None);
  CHECK_STR(manifest.signature, "");
}

TEST(base64_decodes_standard_padding) {
  uint8_t out[8];
  size_t written = 0;
  CHECK(decodeBase64("TWFu", out, sizeof out, written) && written == 3 && memcmp(out, "Man", 3) == 0);
  CHECK(decodeBase64("TWE=", out, sizeof out, written) && written == 2 && memcmp(out, "Ma", 2) == 0);
  CHECK(decodeBase64("TQ==", out, sizeof out, written) && written == 1 && out[0] == 'M');
  CHECK(decodeBase64("", out, sizeof out, written) && written == 0);
}

TEST(base64_refuses_what_is_not_base64) {
  uint8_t out[8];
  size_t written = 0;
  CHECK(!decodeBase64("TWF", out, sizeof out, written));        // not a multiple of 4
  CHECK(!decodeBase64("TW=u", out, sizeof out, written));       // a character after padding
  CHECK(!decodeBase64("T===", out, sizeof out, written));       // too much padding
  CHECK(!decodeBase64("TQ==TWFu", out, sizeof out, written));   // padding before the end
  CHECK(!decodeBase64("TW-u", out, sizeof out, written));       // URL-safe alphabet is not accepted
  CHECK(!decodeBase64("TWFuTWFuTWFu", out, sizeof out, written));  // more than the buffer holds
}

TEST(signature_check_hands_the_decoded_key_digest_and_signature_to_the_platform) {
  const FakeVerifier verifier(true);
  uint8_t digest[kSha256Bytes] = {0x5A};
  CHECK(checkImageSignature(verifier, kPointBase64, digest, kSignatureBase64) == SignatureCheck::Valid);
  CHECK(verifier.calls == 1);
  CHECK(verifier.lastPoint[0] == 0x04 && verifier.lastPoint[1] == 0x01 && verifier.lastPoint[64] == 0x40);
  CHECK(verifier.lastSignature[0] == 0xA0 && verifier.lastSignature[63] == 0xDF);
  CHECK(verifier.lastDigestFirst == 0x5A);
}

TEST(signature_check_verdicts) {
  const FakeVerifier refusing(false);
  uint8_t digest[kSha256Bytes] = {};
  CHECK(checkImageSignature(refusing, kPointBase64, digest, kSignatureBase64) == SignatureCheck::Invalid);
  CHECK(checkImageSignature(refusing, "", digest, kSignatureBase64) == SignatureCheck::NoKey);
  CHECK(checkImageSignature(refusing, kPointBase64, digest, "") == SignatureCheck::Missing);
  CHECK(checkImageSignature(refusing, kPointBase64, digest, nullptr) == SignatureCheck::Missing);
  // 63 bytes of signature, a compressed point, garbage: malformed, never handed to the platform
  CHECK(checkImageSignature(refusing, kPointBase64, digest,
                            "oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr/AwcLDxMXGx8jJysvMzc7P0NHS09TV1tfY2drb3N3e") ==
        SignatureCheck::Malformed);
  CHECK(checkImageSignature(refusing, "AgECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0A=",
                            digest, kSignatureBase64) == SignatureCheck::Malformed);
  CHECK(checkImageSignature(refusing, "not base64!", digest, kSignatureBase64) == SignatureCheck::Malformed);
  CHECK(refusing.calls == 1);
  CHECK(signatureAccepted(SignatureCheck::Valid) && signatureAccepted(SignatureCheck::NoKey));
  CHECK(!signatureAccepted(SignatureCheck::Missing) && !signatureAccepted(SignatureCheck::Invalid));
  CHECK(!signatureAccepted(SignatureCheck::Malformed));
}

int main(int argc, char** argv) { return testing::main(argc, argv); }

// ---------------------------------------------------------------- live link

namespace {

JsonError command(const char* text, Command& out) { return parseCommand(text, strlen(text), out); }

void print(LineBuffer& buffer, const char* text, uint32_t nowMs) {
  for (const char* c = text; *c; ++c) buffer.write(static_cast<uint8_t>(*c), nowMs);
}

}  // namespace

TEST(live_topics_are_the_bots_own) {
  char topic[48];
  CHECK(buildTopic("bot_001", kTopicHealth, topic, sizeof topic));
  CHECK_STR(topic, "devices/bot_001/health");
  CHECK(buildTopic("bot_001", kTopicOtaStatus, topic, sizeof topic));
  CHECK_STR(topic, "devices/bot_001/ota/status");
  CHECK(buildTopic("bot_001", kTopicCommand, topic, sizeof topic));
  CHECK_STR(topic, "devices/bot_001/command");
}

TEST(live_topics_refuse_wildcards_and_small_buffers) {
  char topic[24];
  CHECK(!buildTopic("bot/002", kTopicHealth, topic, sizeof topic));
  CHECK(!buildTopic("+", kTopicHealth, topic, sizeof topic));
  CHECK(!buildTopic("#", kTopicHealth, topic, sizeof topic));
  CHECK(!buildTopic("", kTopicHealth, topic, sizeof topic));
  CHECK(!buildTopic("a_rather_long_product_id", kTopicHealth, topic, sizeof topic));
  CHECK_STR(topic, "");
}

TEST(live_command_led_and_relay_states) {
  Command parsed;
  CHECK(command("{\"id\":\"5f0c\",\"command\":\"led\",\"state\":\"on\"}", parsed) == JsonError::None);
  CHECK_STR(parsed.id, "5f0c");
  CHECK(parsed.kind == CommandKind::Led && parsed.state == SwitchState::On);
  CHECK(command("{\"command\":\"relay\",\"state\":\"toggle\",\"id\":\"1\"}", parsed) == JsonError::None);
  CHECK(parsed.kind == CommandKind::Relay && parsed.state == SwitchState::Toggle);
  CHECK(command("{\"id\":\"1\",\"command\":\"led\"}", parsed) == JsonError::WrongType);
  CHECK(command("{\"id\":\"1\",\"command\":\"led\",\"state\":\"blue\"}", parsed) == JsonError::WrongType);
}

TEST(live_command_identify_seconds) {
  Command parsed;
  CHECK(command("{\"id\":\"1\",\"command\":\"identify\"}", parsed) == JsonError::None);
  CHECK(parsed.kind == CommandKind::Identify && parsed.seconds == kDefaultIdentifySeconds);
  CHECK(command("{\"id\":\"1\",\"command\":\"identify\",\"seconds\":60}", parsed) == JsonError::None);
  CHECK(parsed.seconds == 60);
  CHECK(command("{\"id\":\"1\",\"command\":\"identify\",\"seconds\":61}", parsed) == JsonError::WrongType);
  CHECK(command("{\"id\":\"1\",\"command\":\"identify\",\"seconds\":0}", parsed) == JsonError::WrongType);
}

TEST(live_command_every_name_round_trips) {
  const char* const names[] = {"led", "relay", "reboot", "reset_wifi", "test_update", "update_now", "identify"};
  for (const char* name : names) {
    char text[96];
    snprintf(text, sizeof text, "{\"id\":\"x\",\"command\":\"%s\",\"state\":\"off\"}", name);
    Command parsed;
    CHECK(command(text, parsed) == JsonError::None);
    CHECK_STR(commandName(parsed.kind), name);
  }
}

TEST(live_command_refuses_unknown_and_malformed) {
  Command parsed;
  CHECK(command("{\"id\":\"1\",\"command\":\"selfdestruct\"}", parsed) == JsonError::MissingField);
  CHECK(command("{\"command\":\"reboot\"}", parsed) == JsonError::MissingField);
  CHECK(command("{\"id\":\"\",\"command\":\"reboot\"}", parsed) == JsonError::MissingField);
  CHECK(command("{\"id\":\"0123456789abcdef0123456789abcdef0\",\"command\":\"reboot\"}", parsed) ==
        JsonError::FieldTooLong);
  CHECK(command("{\"id\":1,\"command\":\"reboot\"}", parsed) == JsonError::WrongType);
  CHECK(command("[\"reboot\"]", parsed) != JsonError::None);
  CHECK(command("{\"id\":\"1\",\"command\":\"reboot\"", parsed) == JsonError::Syntax);
}

TEST(live_result_json_is_escaped) {
  char out[128];
  const size_t length = buildResultJson("5f0c", CommandOutcome::Done, "said \"hi\"", out, sizeof out);
  CHECK(length == strlen(out));
  CHECK_STR(out, "{\"id\":\"5f0c\",\"state\":\"done\",\"message\":\"said \\\"hi\\\"\"}");
  CHECK(buildResultJson("5f0c", CommandOutcome::Acked, "", out, sizeof out) > 0);
  CHECK_STR(out, "{\"id\":\"5f0c\",\"state\":\"acked\"}");
  CHECK(buildResultJson("5f0c", CommandOutcome::Failed, "x", out, 10) == 0);
}

TEST(live_lines_are_cut_queued_and_batched) {
  LineBuffer buffer(100, 100);
  print(buffer, "first\r\nsecond\n\npartial", 0);
  char batch[300];
  CHECK(buffer.takeBatch(batch, sizeof batch) == strlen("first\nsecond"));
  CHECK_STR(batch, "first\nsecond");
  CHECK(buffer.takeBatch(batch, sizeof batch) == 0);  // "partial" has no newline yet
  print(buffer, " line\n", 0);
  buffer.takeBatch(batch, sizeof batch);
  CHECK_STR(batch, "partial line");
  for (int i = 0; i < 400; ++i) buffer.write('x', 0);
  buffer.write('\n', 0);
  CHECK(buffer.takeBatch(batch, sizeof batch) == kMaxLogLineBytes);
  CHECK(buffer.droppedLines() == 0);
}

TEST(live_batches_hold_whole_lines_only) {
  LineBuffer buffer(100, 100);
  print(buffer, "aaaa\nbbbb\ncccc\n", 0);
  char batch[11];
  CHECK(buffer.takeBatch(batch, sizeof batch) == 9);
  CHECK_STR(batch, "aaaa\nbbbb");
  CHECK(buffer.takeBatch(batch, sizeof batch) == 4);
  CHECK_STR(batch, "cccc");
  print(buffer, "this line is longer than the batch\nok\n", 0);
  CHECK(buffer.takeBatch(batch, sizeof batch) == 2);
  CHECK_STR(batch, "ok");
  CHECK(buffer.droppedLines() == 1);
}

TEST(live_full_queue_drops_new_lines_without_blocking) {
  LineBuffer buffer(100000, 100000);
  int accepted = 0;
  for (int i = 0; i < 1000; ++i) {
    const uint32_t before = buffer.droppedLines();
    print(buffer, "0123456789abcdef0123456789abcdef\n", 0);
    if (buffer.droppedLines() == before) ++accepted;
  }
  CHECK(buffer.queuedBytes() <= kLogQueueBytes);
  CHECK(accepted == static_cast<int>(kLogQueueBytes / 33));
  CHECK(buffer.droppedLines() == static_cast<uint32_t>(1000 - accepted));
}
TEST(live_command_serial_line) {
  Command parsed;
  CHECK(command("{\"id\":\"7\",\"command\":\"serial\",\"line\":\"speed 42 \\u00e9\"}", parsed) == JsonError::None);
  CHECK(parsed.kind == CommandKind::Serial);
  CHECK_STR(parsed.line, "speed 42 \xc3\xa9");
  CHECK(command("{\"id\":\"7\",\"command\":\"serial\",\"line\":\"\"}", parsed) == JsonError::None);
  CHECK_STR(parsed.line, "");
  CHECK(command("{\"id\":\"7\",\"command\":\"serial\"}", parsed) == JsonError::MissingField);
  CHECK(command("{\"id\":\"7\",\"command\":\"serial\",\"line\":\"a\\nb\"}", parsed) == JsonError::WrongType);
  CHECK(command("{\"id\":\"7\",\"command\":\"serial\",\"line\":\"a\\u001bb\"}", parsed) == JsonError::WrongType);
  CHECK(command("{\"id\":\"7\",\"command\":\"serial\",\"line\":\"a\\u007f\"}", parsed) == JsonError::WrongType);
  CHECK(command("{\"id\":\"7\",\"command\":\"serial\",\"line\":3}", parsed) == JsonError::WrongType);
  char text[400];
  char longest[kMaxSerialInputBytes + 2];
  memset(longest, 'x', kMaxSerialInputBytes);
  longest[kMaxSerialInputBytes] = '\0';
  snprintf(text, sizeof text, "{\"id\":\"7\",\"command\":\"serial\",\"line\":\"%s\"}", longest);
  CHECK(command(text, parsed) == JsonError::None);
  CHECK(strlen(parsed.line) == kMaxSerialInputBytes);
  longest[kMaxSerialInputBytes] = 'x';
  longest[kMaxSerialInputBytes + 1] = '\0';
  snprintf(text, sizeof text, "{\"id\":\"7\",\"command\":\"serial\",\"line\":\"%s\"}", longest);
  CHECK(command(text, parsed) == JsonError::FieldTooLong);
  CHECK_STR(commandName(CommandKind::Serial), "serial");
}

TEST(live_serial_input_is_read_like_serial_and_refuses_what_does_not_fit) {
  SerialInput input;
  CHECK(input.available() == 0 && input.read() == -1 && input.peek() == -1);
  CHECK(input.push("hi"));
  CHECK(input.available() == 3 && input.peek() == 'h');
  CHECK(input.read() == 'h' && input.read() == 'i' && input.read() == '\n' && input.read() == -1);
  char line[kMaxSerialInputBytes + 1];
  memset(line, 'a', kMaxSerialInputBytes);
  line[kMaxSerialInputBytes] = '\0';
  CHECK(input.push(line) && input.push(line));  // two full lines fit
  CHECK(!input.push("b"));                      // a third does not: refused whole
  CHECK(input.available() == static_cast<int>(SerialInput::kCapacity));
  for (size_t i = 0; i <= kMaxSerialInputBytes; ++i) input.read();
  CHECK(input.push("\xc3\xa9"));  // wraps around the ring
  for (size_t i = 0; i <= kMaxSerialInputBytes; ++i) input.read();
  CHECK(input.read() == 0xC3 && input.read() == 0xA9 && input.read() == '\n' && input.available() == 0);
}

TEST(live_rate_limit_allows_bursts_then_refills) {
  LineRateLimiter limiter(10, 20);
  int allowed = 0;
  for (int i = 0; i < 50; ++i) allowed += limiter.allow(1000) ? 1 : 0;
  CHECK(allowed == 20);
  CHECK(!limiter.allow(1050));  // half a line refilled
  CHECK(limiter.allow(1100));   // one line after 100 ms at 10 lines a second
  CHECK(!limiter.allow(1100));
  int later = 0;
  for (int i = 0; i < 50; ++i) later += limiter.allow(60000) ? 1 : 0;
  CHECK(later == 20);  // never more than the burst, however long the pause
}

TEST(live_rate_limit_survives_millis_wrap_around) {
  LineRateLimiter limiter(10, 1);
  CHECK(limiter.allow(0xFFFFFFF0u));
  CHECK(!limiter.allow(0xFFFFFFF5u));
  CHECK(limiter.allow(0x00000060u));  // 112 ms later, across the wrap
}

TEST(live_batches_hold_at_most_the_lines_the_server_reads) {
  LineBuffer buffer(100000, 100000);
  for (int i = 0; i < 150; ++i) print(buffer, "x\n", 0);
  char batch[1024];
  CHECK(buffer.takeBatch(batch, sizeof batch) == 2 * kMaxLogLinesPerBatch - 1);
  CHECK(buffer.takeBatch(batch, sizeof batch) == 2 * 50 - 1);
  CHECK(buffer.droppedLines() == 0);
}

// ---------------------------------------------------------------- live link session

TEST(live_broker_urls_are_plain_mqtt_addresses) {
  CHECK(validBrokerUrl("mqtt://10.0.0.2:1884"));
  CHECK(validBrokerUrl("mqtts://broker.example"));
  CHECK(validBrokerUrl("mqtt://broker.example:8883/"));
  CHECK(validBrokerUrl("mqtt://[fd00::2]:1883"));
  CHECK(!validBrokerUrl(""));
  CHECK(!validBrokerUrl(nullptr));
  CHECK(!validBrokerUrl("http://10.0.0.2:1884"));
  CHECK(!validBrokerUrl("mqtt://user:secret@10.0.0.2:1884"));  // the bot logs in with its own credentials
  CHECK(!validBrokerUrl("mqtt://10.0.0.2:1884/path"));
  CHECK(!validBrokerUrl("mqtt://10.0.0.2:0"));
  CHECK(!validBrokerUrl("mqtt://10.0.0.2:65536"));
  CHECK(!validBrokerUrl("mqtt://10.0.0.2:"));
  CHECK(!validBrokerUrl("mqtt://"));
  CHECK(!validBrokerUrl("mqtt://bro ker"));
  char longest[kMaxBrokerUrlBytes + 2];
  memset(longest, 'a', sizeof longest);
  memcpy(longest, "mqtt://", 7);
  longest[kMaxBrokerUrlBytes] = '\0';
  CHECK(validBrokerUrl(longest));
  longest[kMaxBrokerUrlBytes] = 'a';
  longest[kMaxBrokerUrlBytes + 1] = '\0';
  CHECK(!validBrokerUrl(longest));
}

TEST(live_incoming_topics_are_routed_to_the_bots_own_subscriptions) {
  const char* command = "devices/bot_001/command";
  CHECK(routeTopic("bot_001", command, strlen(command)) == InboundTopic::Command);
  const char* ota = "devices/bot_001/otaXYZ";
  CHECK(routeTopic("bot_001", ota, strlen("devices/bot_001/ota")) == InboundTopic::Ota);  // not NUL-terminated
  CHECK(routeTopic("bot_001", ota, strlen(ota)) == InboundTopic::Other);
  const char* other = "devices/bot_002/command";
  CHECK(routeTopic("bot_001", other, strlen(other)) == InboundTopic::Other);
  const char* prefix = "devices/bot_0010/command";
  CHECK(routeTopic("bot_001", prefix, strlen(prefix)) == InboundTopic::Other);
  const char* status = "devices/bot_001/status";
  CHECK(routeTopic("bot_001", status, strlen(status)) == InboundTopic::Other);
  CHECK(routeTopic("bot_001", command, 10) == InboundTopic::Other);
  CHECK(routeTopic("bot/1", "devices/bot/1/command", 21) == InboundTopic::Other);
  CHECK(routeTopic("", "devices//command", 16) == InboundTopic::Other);
}

namespace {

LiveSession session() { return LiveSession(30000, 250, 15000, Backoff(2000, 60000, 7)); }

/** Brings a session from nothing to online at `nowMs`. */
void bringOnline(LiveSession& link, uint32_t nowMs) {
  link.setBroker("mqtt://10.0.0.2:1884");
  link.setWifi(true);
  CHECK(link.next(nowMs, 0) == LinkStep::Start);
  link.done(LinkStep::Start, true, nowMs);
  link.clientConnected();
  CHECK(link.next(nowMs, 0) == LinkStep::Announce);
  link.done(LinkStep::Announce, true, nowMs);
  CHECK(link.online());
}

}  // namespace

TEST(live_session_connects_only_with_a_broker_and_wifi) {
  LiveSession link = session();
  CHECK(link.next(0, 0) == LinkStep::None);
  link.setWifi(true);
  CHECK(link.next(0, 0) == LinkStep::None);  // no broker named yet
  link.setBroker("http://not-a-broker");
  CHECK(link.next(0, 0) == LinkStep::None);
  CHECK_STR(link.broker(), "");
  link.setBroker("mqtt://10.0.0.2:1884");
  CHECK(link.next(5, 0) == LinkStep::Start);
  link.done(LinkStep::Start, true, 5);
  CHECK(link.next(10, 0) == LinkStep::None);  // waiting for the broker's answer
  CHECK(!link.online() && !link.carriesHeartbeats(false));
  link.clientConnected();
  CHECK(link.next(20, 0) == LinkStep::Announce);
  link.done(LinkStep::Announce, true, 20);
  CHECK(link.online());
  CHECK(link.carriesHeartbeats(false));
  CHECK(!link.carriesHeartbeats(true));  // on probation only the HTTP reply confirms the firmware
}

TEST(live_session_publishes_health_at_once_then_on_its_period_and_flushes_lines) {
  LiveSession link = session();
  bringOnline(link, 1000);
  CHECK(link.next(1000, 0) == LinkStep::PublishHealth);
  link.done(LinkStep::PublishHealth, true, 1000);
  CHECK(link.next(1000, 0) == LinkStep::None);
  CHECK(link.next(1000, 12) == LinkStep::FlushLogs);  // lines waiting go out at once after connecting
  link.done(LinkStep::FlushLogs, true, 1000);
  CHECK(link.next(1100, 12) == LinkStep::None);  // then at most every 250 ms
  CHECK(link.next(1250, 12) == LinkStep::FlushLogs);
  link.done(LinkStep::FlushLogs, true, 1250);
  CHECK(link.next(30999, 0) == LinkStep::None);
  CHECK(link.next(31000, 0) == LinkStep::PublishHealth);
}

TEST(live_session_backs_off_after_failed_attempts_and_resets_once_online) {
  LiveSession link = session();
  link.setBroker("mqtt://10.0.0.2:1884");
  link.setWifi(true);
  CHECK(link.next(0, 0) == LinkStep::Start);
  link.done(LinkStep::Start, false, 0);  // the client could not even be created
  CHECK(link.failedAttempts() == 1);
  CHECK(link.next(999, 0) == LinkStep::None);  // the first delay lies in [1000, 2000]
  CHECK(link.next(2000, 0) == LinkStep::Start);
  link.done(LinkStep::Start, true, 2000);
  CHECK(link.next(16999, 0) == LinkStep::None);
  CHECK(link.next(17000, 0) == LinkStep::Stop);  // no answer within the connect timeout
  link.done(LinkStep::Stop, true, 17000);
  CHECK(link.failedAttempts() == 2);
  CHECK(link.next(17000 + 1999, 0) == LinkStep::None);  // the second delay lies in [2000, 4000]
  CHECK(link.next(17000 + 4000, 0) == LinkStep::Start);
  link.done(LinkStep::Start, true, 21000);
  link.clientLost();  // refused (wrong token) or dropped before CONNECTED
  CHECK(link.next(21001, 0) == LinkStep::Stop);
  link.done(LinkStep::Stop, true, 21001);
  CHECK(link.failedAttempts() == 3);
  CHECK(link.next(21001 + 8000, 0) == LinkStep::Start);
  link.done(LinkStep::Start, true, 29001);
  link.clientConnected();
  CHECK(link.next(29001, 0) == LinkStep::Announce);
  link.done(LinkStep::Announce, true, 29001);
  CHECK(link.failedAttempts() == 0);
}

TEST(live_session_stops_and_waits_when_the_broker_drops_it) {
  LiveSession link = session();
  bringOnline(link, 0);
  link.clientLost();
  CHECK(link.next(10, 0) == LinkStep::Stop);
  link.done(LinkStep::Stop, true, 10);
  CHECK(!link.online());
  CHECK(link.next(10 + 999, 0) == LinkStep::None);
  CHECK(link.next(10 + 2000, 0) == LinkStep::Start);
  link.clientLost();  // a late event of the stopped client changes nothing
  link.done(LinkStep::Start, true, 2010);
  CHECK(link.next(2011, 0) == LinkStep::None);
}

TEST(live_session_a_failed_announce_is_a_failed_attempt) {
  LiveSession link = session();
  link.setBroker("mqtt://10.0.0.2:1884");
  link.setWifi(true);
  link.next(0, 0);
  link.done(LinkStep::Start, true, 0);
  link.clientConnected();
  CHECK(link.next(0, 0) == LinkStep::Announce);
  link.done(LinkStep::Announce, false, 0);
  CHECK(!link.online());
  CHECK(link.next(1, 0) == LinkStep::Stop);
  link.done(LinkStep::Stop, true, 1);
  CHECK(link.failedAttempts() == 1);
  CHECK(link.next(2, 0) == LinkStep::None);
}

TEST(live_session_follows_the_broker_and_wifi) {
  LiveSession link = session();
  bringOnline(link, 0);
  link.setBroker("mqtt://10.0.0.2:1884");  // the same broker again: nothing happens
  CHECK(link.next(0, 0) == LinkStep::PublishHealth);
  link.done(LinkStep::PublishHealth, true, 0);
  link.setBroker("mqtt://10.0.0.3:1884");  // another one: leave and come back at once, no backoff
  CHECK(link.next(5, 0) == LinkStep::Stop);
  link.done(LinkStep::Stop, true, 5);
  CHECK(link.failedAttempts() == 0);
  CHECK(link.next(5, 0) == LinkStep::Start);
  CHECK_STR(link.broker(), "mqtt://10.0.0.3:1884");
  link.done(LinkStep::Start, true, 5);
  link.setWifi(false);
  CHECK(link.next(6, 0) == LinkStep::Stop);
  link.done(LinkStep::Stop, true, 6);
  CHECK(link.next(60000, 0) == LinkStep::None);  // no Wi-Fi, no attempts
  link.setWifi(true);
  CHECK(link.next(60001, 0) == LinkStep::Start);  // Wi-Fi is back: at once
  link.done(LinkStep::Start, true, 60001);
  link.setBroker("");  // the server no longer names a broker
  CHECK(link.next(60002, 0) == LinkStep::Stop);
  link.done(LinkStep::Stop, true, 60002);
  CHECK(link.next(120000, 0) == LinkStep::None);
}

TEST(live_session_timing_survives_millis_wrap_around) {
  LiveSession link = session();
  bringOnline(link, 0xFFFFF000u);
  CHECK(link.next(0xFFFFF000u, 0) == LinkStep::PublishHealth);
  link.done(LinkStep::PublishHealth, true, 0xFFFFF000u);
  CHECK(link.next(0x00001000u, 0) == LinkStep::None);  // 8 s later, across the wrap
  CHECK(link.next(0xFFFFF000u + 30000u, 0) == LinkStep::PublishHealth);
}

namespace {

void deliver(LinkInbox& inbox, const char* text, size_t pieceBytes) {
  const size_t total = strlen(text);
  size_t offset = 0;
  do {
    const size_t length = total - offset < pieceBytes ? total - offset : pieceBytes;
    inbox.receive(InboundTopic::Command, offset, text + offset, length, total);
    offset += length;
  } while (offset < total);
}

}  // namespace

TEST(live_inbox_puts_pieces_together_in_order) {
  LinkInbox inbox;
  InboundMessage message;
  CHECK(!inbox.take(message));
  deliver(inbox, "{\"id\":\"1\",\"command\":\"reboot\"}", 7);
  inbox.receive(InboundTopic::Ota, 0, "{}", 2, 2);
  CHECK(inbox.take(message));
  CHECK(message.topic == InboundTopic::Command);
  CHECK_STR(message.payload, "{\"id\":\"1\",\"command\":\"reboot\"}");
  CHECK(message.length == strlen(message.payload));
  CHECK(inbox.take(message));
  CHECK(message.topic == InboundTopic::Ota);
  CHECK_STR(message.payload, "{}");
  CHECK(!inbox.take(message));
  inbox.receive(InboundTopic::Command, 0, nullptr, 0, 0);  // an empty message is a message
  CHECK(inbox.take(message) && message.length == 0 && message.payload[0] == '\0');
  CHECK(inbox.dropped() == 0);
}

TEST(live_inbox_drops_what_it_cannot_hold_whole) {
  LinkInbox inbox;
  InboundMessage message;
  static char big[kMaxInboundBytes + 2];
  memset(big, 'x', kMaxInboundBytes + 1);
  big[kMaxInboundBytes + 1] = '\0';
  deliver(inbox, big, 100);  // over the limit: every piece ignored
  CHECK(inbox.dropped() == 1);
  CHECK(!inbox.take(message));
  big[kMaxInboundBytes] = '\0';
  deliver(inbox, big, 100);  // exactly the limit fits
  CHECK(inbox.take(message) && message.length == kMaxInboundBytes);
  inbox.receive(InboundTopic::Command, 0, "{\"a\"", 4, 8);
  inbox.receive(InboundTopic::Command, 5, ":1}", 3, 8);  // a gap: dropped, never glued together
  CHECK(inbox.dropped() == 2);
  CHECK(!inbox.take(message));
  inbox.receive(InboundTopic::Command, 0, "{\"a\"", 4, 8);
  inbox.receive(InboundTopic::Command, 0, "{}", 2, 2);  // the first never finished
  CHECK(inbox.dropped() == 3);
  CHECK(inbox.take(message) && strcmp(message.payload, "{}") == 0);
  for (size_t i = 0; i < LinkInbox::kSlots + 1; ++i) deliver(inbox, "{}", 2);
  CHECK(inbox.dropped() == 4);  // every slot taken: the newest is dropped
  for (size_t i = 0; i < LinkInbox::kSlots; ++i) CHECK(inbox.take(message));
  CHECK(!inbox.take(message));
}

TEST(live_recent_commands_run_once) {
  RecentCommands recent;
  CHECK(!recent.seen("a"));
  recent.remember("a");
  CHECK(recent.seen("a"));
  CHECK(!recent.seen(""));
  char id[8];
  for (size_t i = 0; i < RecentCommands::kKept; ++i) {
    snprintf(id, sizeof id, "c%u", static_cast<unsigned>(i));
    recent.remember(id);
  }
  CHECK(!recent.seen("a"));  // the oldest is forgotten first
  CHECK(recent.seen("c0") && recent.seen("c7"));
}

TEST(heartbeat_reply_names_the_broker_and_carries_commands) {
  HeartbeatReply reply;
  const char* text =
      "{\"success\": true, \"update_available\": false, \"mqtt\": \"mqtt://10.0.0.2:1884\", \"commands\": ["
      "{\"id\": \"a1\", \"command\": \"led\", \"state\": \"on\"}, {\"id\": \"a2\", \"command\": \"identify\"},"
      " {\"id\": \"a3\", \"command\": \"warp\"}]}";
  CHECK(parseHeartbeatReply(text, strlen(text), reply) == JsonError::None);
  CHECK_STR(reply.mqttUrl, "mqtt://10.0.0.2:1884");
  size_t offset = 0;
  JsonSpan element;
  Command command;
  CHECK(nextArrayElement(reply.commands, offset, element));
  CHECK(parseCommand(element.text, element.length, command) == JsonError::None);
  CHECK(command.kind == CommandKind::Led && command.state == SwitchState::On && strcmp(command.id, "a1") == 0);
  CHECK(nextArrayElement(reply.commands, offset, element));
  CHECK(parseCommand(element.text, element.length, command) == JsonError::None);
  CHECK(command.kind == CommandKind::Identify && command.seconds == kDefaultIdentifySeconds);
  CHECK(nextArrayElement(reply.commands, offset, element));
  CHECK(parseCommand(element.text, element.length, command) == JsonError::MissingField);
  CHECK(!nextArrayElement(reply.commands, offset, element));
  CHECK(!nextArrayElement(reply.commands, offset, element));

  const char* none = "{\"success\": true, \"commands\": []}";
  CHECK(parseHeartbeatReply(none, strlen(none), reply) == JsonError::None);
  offset = 0;
  CHECK(!nextArrayElement(reply.commands, offset, element));
  CHECK_STR(reply.mqttUrl, "");
  const char* absent = "{\"success\": true}";
  CHECK(parseHeartbeatReply(absent, strlen(absent), reply) == JsonError::None);
  offset = 0;
  CHECK(!nextArrayElement(reply.commands, offset, element));
  const char* wrongType = "{\"success\": true, \"commands\": {}}";
  CHECK(parseHeartbeatReply(wrongType, strlen(wrongType), reply) == JsonError::WrongType);
}

TEST(heartbeat_reply_ignores_a_broker_it_must_not_use) {
  HeartbeatReply reply;
  const char* text = "{\"success\": true, \"mqtt\": \"mqtt://bridge:secret@10.0.0.2:1884\"}";
  CHECK(parseHeartbeatReply(text, strlen(text), reply) == JsonError::None);  // still a good heartbeat
  CHECK(reply.success);
  CHECK_STR(reply.mqttUrl, "");
}

TEST(endpoint_urls_for_command_results_and_logs) {
  char url[128];
  CHECK(buildEndpointUrl("http://10.0.0.2:5000/", Endpoint::Results, "bot 1", url, sizeof url));
  CHECK_STR(url, "http://10.0.0.2:5000/api/devices/bot%201/results");
  CHECK(buildEndpointUrl("http://10.0.0.2:5000", Endpoint::Logs, "bot_1", url, sizeof url));
  CHECK_STR(url, "http://10.0.0.2:5000/api/devices/bot_1/logs");
}
