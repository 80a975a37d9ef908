// The OTA agent task: Wi-Fi, trigger button, heartbeats, pulls with progress reports, rollback safety, and the live
// link (MQTT): health, the sketch's serial lines, and the commands the server sends, whichever way they come.
#include <Arduino.h>
#include <HTTPUpdate.h>
#include <WiFi.h>
#include <esp_ota_ops.h>
#include <esp_random.h>
#include <esp_system.h>

#include "../WebideAgent.h"
#include "../core/backoff.h"
#include "../core/debounce.h"
#include "../core/digest.h"
#include "../core/live_link.h"
#include "../core/live_session.h"
#include "../core/reports.h"
#include "../core/server_replies.h"
#include "../core/update_machine.h"
#include "../core/urls.h"
#include "../link_hooks.h"
#include "device_store.h"
#include "image_signature.h"
#include "live_link_client.h"
#include "serial_tee.h"
#include "server_link.h"
#include "web_pages.h"

#ifndef WEBIDE_BUTTON_PIN
#define WEBIDE_BUTTON_PIN 0  // the BOOT button of most ESP32 boards
#endif
#ifndef WEBIDE_LED_PIN
#ifdef LED_BUILTIN
#define WEBIDE_LED_PIN LED_BUILTIN
#else
#define WEBIDE_LED_PIN -1
#endif
#endif
#ifndef WEBIDE_HEARTBEAT_INTERVAL_MS
#define WEBIDE_HEARTBEAT_INTERVAL_MS 30000
#endif
#ifndef WEBIDE_RELAY_PIN
#define WEBIDE_RELAY_PIN -1  // no relay unless the build or the stored settings (NVS "relaypin") name one
#endif
#ifndef WEBIDE_CONFIRM_WINDOW_MS
#define WEBIDE_CONFIRM_WINDOW_MS 180000
#endif

// The core marks a freshly installed image valid before setup() unless this returns true; the agent
// marks it valid itself once the server has heard from the new firmware (see confirmImage()).
extern "C" bool verifyRollbackLater() { return true; }

namespace webide {

namespace {

const uint32_t kTaskStackBytes = 12288;
const uint32_t kPollIntervalMs = 5;
const uint32_t kProbationHeartbeatMs = 5000;
const uint32_t kPortalAfterNoWifiMs = 60000;
const uint32_t kPortalRetryAfterMs = 300000;
const uint32_t kButtonSettleMs = 30;
const uint32_t kLongPressMs = 3000;
const size_t kMaxSensors = 8;
const uint32_t kLogFlushMs = 250;
const uint32_t kLinkConnectTimeoutMs = 20000;
const uint32_t kIdentifyBlinkMs = 200;
const int kMaxLinkStepsPerPass = 4;

struct Sensor {
  char name[24];
  double value;
};

Sensor sensors[kMaxSensors];
size_t sensorCount = 0;
portMUX_TYPE sensorLock = portMUX_INITIALIZER_UNLOCKED;

DeviceStore store;
DeviceSettings settings;
char runningMd5[kMd5HexLength + 1];
char firmwareVersion[72];
UpdateMachine machine(WEBIDE_CONFIRM_WINDOW_MS);
ButtonDebouncer button(kButtonSettleMs, kLongPressMs);
Backoff heartbeatBackoff(2000, 300000, 1);
Backoff wifiBackoff(5000, 120000, 1);
LiveSession liveSession(WEBIDE_HEARTBEAT_INTERVAL_MS, kLogFlushMs, kLinkConnectTimeoutMs, Backoff(2000, 300000, 1));
LiveLinkClient liveLink;
RecentCommands recentCommands;
OutputPins outputPins = {WEBIDE_LED_PIN, WEBIDE_RELAY_PIN};
bool ledOn = false;
bool relayOn = false;
uint32_t identifyUntilMs = 0;
bool identifying = false;
// The update command being run, answered when the update ends (before the restart, when it installs).
char updateCommandId[sizeof(Command::id)];

volatile bool sketchLoopReached = false;
bool agentStarted = false;
bool configured = false;
bool everConnected = false;
bool wasConnected = false;
bool rollbackReportDue = false;
bool checkRequested = false;
// What the manifest said about the offered image; the signature is checked once the image is written.
char offeredSignature[sizeof(Manifest::signature)];
uint32_t offeredSize = 0;
bool portalForFailure = false;
uint32_t bootMs = 0;
uint32_t portalOpenedMs = 0;
uint32_t nextHeartbeatMs = 0;
uint32_t nextWifiAttemptMs = 0;
int lastReportedQuarter = 0;
bool downloadStarted = false;

void fillView(AgentView& view) {
  view.productId = settings.productId;
  view.firmwareVersion = firmwareVersion;
  view.sketchMd5 = runningMd5;
  view.updateState = updateStateName(machine.state());
  view.lastResult = updateOutcomeName(machine.lastOutcome());
}

WebPages pages(store, fillView);

bool due(uint32_t nowMs, uint32_t atMs) { return static_cast<int32_t>(nowMs - atMs) >= 0; }

void setLed(bool on) {
  if (WEBIDE_LED_PIN >= 0) digitalWrite(WEBIDE_LED_PIN, on ? HIGH : LOW);
}

bool imagePendingVerify() {
  const esp_partition_t* running = esp_ota_get_running_partition();
  esp_ota_img_states_t state;
  return running != nullptr && esp_ota_get_state_partition(running, &state) == ESP_OK &&
         state == ESP_OTA_IMG_PENDING_VERIFY;
}

void sendStatus(OtaStatus status, int progress, const char* message) {
  char body[256];
  const size_t length = buildStatusJson(status, progress, message, body, sizeof body);
  if (length == 0) return;
  if (liveSession.online() && liveLink.publish(kTopicOtaStatus, body, length, false)) {
    Serial.printf("[webide] status %s %d%% (%s) -> live link\n", body, progress, message);
    return;
  }
  ServerLink link(settings, runningMd5);
  const int code = link.postJson(Endpoint::Status, body, nullptr, 0);
  Serial.printf("[webide] status %s %d%% (%s) -> HTTP %d\n", body, progress, message, code);
}

/** A command's answer: on the live link when it is up, else POST /api/devices/<id>/results. */
void answerCommand(const char* id, CommandOutcome outcome, const char* message) {
  char body[384];
  const size_t length = buildResultJson(id, outcome, message, body, sizeof body);
  if (length == 0) return;
  if (liveSession.online() && liveLink.publish(kTopicResult, body, length, false)) return;
  ServerLink link(settings, runningMd5);
  const int code = link.postJson(Endpoint::Results, body, nullptr, 0);
  if (code < 200 || code >= 300) Serial.printf("[webide] could not answer command %s (HTTP %d)\n", id, code);
}

/** Answers the update command being run, if any, once the update has ended one way or the other. */
void finishUpdateCommand(CommandOutcome outcome, const char* message) {
  if (updateCommandId[0] == '\0') return;
  answerCommand(updateCommandId, outcome, message);
  updateCommandId[0] = '\0';
}

void openPortal(bool becauseWifiFailed) {
  portalForFailure = becauseWifiFailed;
  portalOpenedMs = millis();
  pages.openSetupPortal(settings);
}

void confirmImage() {
  if (esp_ota_mark_app_valid_cancel_rollback() == ESP_OK) {
    store.saveMd5BeforeUpdate("");
    Serial.println("[webide] new firmware confirmed by the server; marked valid");
  } else {
    Serial.println("[webide] could not mark the firmware valid");
  }
}

void rollBack() {
  Serial.println("[webide] new firmware was not confirmed in time; rolling back");
  if (WiFi.isConnected()) sendStatus(OtaStatus::Failed, 0, "not confirmed in time, rolling back");
  esp_ota_mark_app_invalid_rollback_and_reboot();
  // Only reached when no previous image is valid; a restart lets the bootloader decide.
  ESP.restart();
}

void perform(UpdateAction action) {
  switch (action) {
    case UpdateAction::MarkImageValid: confirmImage(); break;
    case UpdateAction::RollBackAndReboot: rollBack(); break;
    case UpdateAction::ReportRolledBack: rollbackReportDue = true; break;
    case UpdateAction::Reboot:
      finishUpdateCommand(CommandOutcome::Done, "installed, restarting");
      Serial.println("[webide] update installed, restarting");
      delay(200);
      ESP.restart();
      break;
    default: break;
  }
}

void snapshotSensors(SensorReading* readings, Sensor* copies, size_t& count) {
  portENTER_CRITICAL(&sensorLock);
  count = sensorCount;
  memcpy(copies, sensors, sizeof(Sensor) * count);
  portEXIT_CRITICAL(&sensorLock);
  for (size_t i = 0; i < count; ++i) readings[i] = SensorReading{copies[i].name, copies[i].value};
}

/** The heartbeat's JSON: the HTTP heartbeat's body and the live link's health message. Returns its length or 0. */
size_t buildHealth(uint32_t nowMs, char* body, size_t capacity) {
  Sensor copies[kMaxSensors];
  SensorReading readings[kMaxSensors];
  size_t count = 0;
  snapshotSensors(readings, copies, count);
  const String ip = WiFi.localIP().toString();
  const String mac = WiFi.macAddress();
  const HeartbeatInfo info = {firmwareVersion, runningMd5, "", ESP.getFreeHeap(), nowMs / 1000,
                              WiFi.RSSI(), ip.c_str(), mac.c_str(), readings, count};
  return buildHeartbeatJson(info, body, capacity);
}

void runReplyCommands(const JsonSpan& commands);

void sendHeartbeat(uint32_t nowMs) {
  char body[768];
  static char reply[kMaxServerReplyBytes + 1];  // up to 8 open commands ride along for a bot off the live link
  if (buildHealth(nowMs, body, sizeof body) == 0) return;
  ServerLink link(settings, runningMd5);
  const int code = link.postJson(Endpoint::Heartbeat, body, reply, sizeof reply);
  HeartbeatReply answer;
  if (code >= 200 && code < 300 && parseHeartbeatReply(reply, strlen(reply), answer) == JsonError::None &&
      answer.success) {
    heartbeatBackoff.reset();
    if (sketchLoopReached) machine.noteSketchRunning();
    perform(machine.heartbeatAccepted());
    liveSession.setBroker(answer.mqttUrl);
    if (answer.updateAvailable) Serial.println("[webide] new firmware waiting: press the button to install it");
    runReplyCommands(answer.commands);
    const bool onProbation = machine.state() == UpdateState::AwaitingConfirmation;
    nextHeartbeatMs = nowMs + (onProbation ? kProbationHeartbeatMs : WEBIDE_HEARTBEAT_INTERVAL_MS);
  } else {
    Serial.printf("[webide] heartbeat refused or failed (HTTP %d)\n", code);
    nextHeartbeatMs = nowMs + heartbeatBackoff.nextDelayMs();
  }
}

void onDownloadStart() {
  downloadStarted = true;
  lastReportedQuarter = 0;
  setLed(true);
  machine.checkAnswered(true);
  sendStatus(OtaStatus::Started, 0, "downloading");
}

void onDownloadProgress(int done, int total) {
  if (total <= 0) return;
  const int percent = static_cast<int>((static_cast<int64_t>(done) * 100) / total);
  const int quarter = percent / 25;
  if (quarter > lastReportedQuarter && quarter < 4) {
    lastReportedQuarter = quarter;
    sendStatus(OtaStatus::InProgress, percent, "downloading");
  }
}

/** Picks the image URL: the manifest's when it offers one, else the static URL (stock 304/200 decides). */
bool chooseImageUrl(char* url, size_t capacity, bool& upToDate) {
  upToDate = false;
  ServerLink link(settings, runningMd5);
  Manifest manifest;
  offeredSignature[0] = '\0';
  offeredSize = 0;
  const JsonError error = link.fetchManifest(manifest);
  if (error == JsonError::None) {
    copyText(offeredSignature, sizeof offeredSignature, manifest.signature);
    offeredSize = manifest.size;
    if (!manifestOffersNewImage(manifest, runningMd5)) {
      upToDate = true;
      return false;
    }
    if (resolveServerUrl(settings.server, manifest.url, url, capacity)) return true;
  } else {
    Serial.printf("[webide] manifest unavailable (%s); pulling the static URL\n", jsonErrorName(error));
  }
  return buildEndpointUrl(settings.server, Endpoint::Firmware, settings.productId, url, capacity);
}

/** A written image boots only with a valid signature by the provisioned key (bots without a key skip this). */
bool installedImageIsSigned() {
  const SignatureCheck check = checkInstalledImage(settings.signingKey, offeredSignature, offeredSize);
  if (check == SignatureCheck::NoKey) Serial.println("[webide] no signing key provisioned: signature not checked");
  if (signatureAccepted(check)) return true;
  refuseInstalledImage();
  char message[96];
  snprintf(message, sizeof message, "signature check failed: %s", signatureCheckName(check));
  sendStatus(OtaStatus::Failed, 100, message);
  finishUpdateCommand(CommandOutcome::Failed, message);
  Serial.printf("[webide] %s; keeping the current firmware\n", message);
  machine.downloadFinished(false);
  return false;
}

void finishPull(HTTPUpdateResult result) {
  setLed(false);
  if (result == HTTP_UPDATE_NO_UPDATES) {
    machine.checkAnswered(false);
    finishUpdateCommand(CommandOutcome::Done, "no_update: already running the latest firmware");
    Serial.println("[webide] already running the latest firmware");
    return;
  }
  if (result == HTTP_UPDATE_OK) {
    if (!installedImageIsSigned()) return;
    store.saveMd5BeforeUpdate(runningMd5);
    sendStatus(OtaStatus::Success, 100, "installed, rebooting");
    perform(machine.downloadFinished(true));
    return;
  }
  const String reason = httpUpdate.getLastErrorString();
  sendStatus(OtaStatus::Failed, lastReportedQuarter * 25, reason.c_str());
  finishUpdateCommand(CommandOutcome::Failed, reason.c_str());
  Serial.printf("[webide] update failed: %s\n", reason.c_str());
  if (downloadStarted) {
    machine.downloadFinished(false);
  } else {
    machine.checkFailed();
  }
}

void checkAndPull() {
  if (machine.requestCheck() != UpdateAction::StartCheck) {
    char message[64];
    snprintf(message, sizeof message, "cannot update now (%s)", updateStateName(machine.state()));
    finishUpdateCommand(CommandOutcome::Failed, message);
    Serial.printf("[webide] %s\n", message);
    return;
  }
  char url[256];
  bool upToDate = false;
  if (!chooseImageUrl(url, sizeof url, upToDate)) {
    if (upToDate) {
      machine.checkAnswered(false);
      finishUpdateCommand(CommandOutcome::Done, "no_update: already running the latest firmware");
      Serial.println("[webide] already running the latest firmware");
    } else {
      machine.checkFailed();
      finishUpdateCommand(CommandOutcome::Failed, "no firmware URL for this bot");
    }
    return;
  }
  downloadStarted = false;
  httpUpdate.onStart(onDownloadStart);
  httpUpdate.onProgress(onDownloadProgress);
  ServerLink link(settings, runningMd5);
  finishPull(link.pullFirmware(httpUpdate, url));
}

// ---------------------------------------------------------------- commands (live link or heartbeat reply)

/** Drives an output the server may switch; false when this bot has no pin for it. */
bool switchOutput(int pin, bool& on, SwitchState state) {
  if (pin < 0) return false;
  on = state == SwitchState::Toggle ? !on : state == SwitchState::On;
  pinMode(pin, OUTPUT);
  digitalWrite(pin, on ? HIGH : LOW);
  return true;
}

void publishOutputs() {
  if (!liveSession.online()) return;
  char body[64];
  const int length = snprintf(body, sizeof body, "{\"led\":%s,\"relay\":%s}", ledOn ? "true" : "false",
                              relayOn ? "true" : "false");
  if (length > 0 && static_cast<size_t>(length) < sizeof body) {
    liveLink.publish(kTopicStatus, body, static_cast<size_t>(length), false);
  }
}

void restartSoon(const char* why) {
  Serial.printf("[webide] %s: restarting\n", why);
  delay(500);  // the answer leaves before the connection does
  ESP.restart();
}

/** Runs one command, whichever way it came: acked at once, then done or failed with a message. */
void runCommand(const Command& command) {
  if (recentCommands.seen(command.id)) return;  // a repeat of one already run (lost answer, redelivery)
  recentCommands.remember(command.id);
  Serial.printf("[webide] command %s (%s)\n", commandName(command.kind), command.id);
  answerCommand(command.id, CommandOutcome::Acked, "");
  char message[80];
  switch (command.kind) {
    case CommandKind::Led:
    case CommandKind::Relay: {
      const bool led = command.kind == CommandKind::Led;
      const bool switched = led ? switchOutput(outputPins.led, ledOn, command.state)
                                : switchOutput(outputPins.relay, relayOn, command.state);
      if (!switched) {
        answerCommand(command.id, CommandOutcome::Failed, led ? "this bot has no LED pin set" : "this bot has no relay pin set");
        return;
      }
      publishOutputs();
      snprintf(message, sizeof message, "%s %s", led ? "led" : "relay", (led ? ledOn : relayOn) ? "on" : "off");
      answerCommand(command.id, CommandOutcome::Done, message);
      return;
    }
    case CommandKind::Identify:
      if (outputPins.led < 0) {
        answerCommand(command.id, CommandOutcome::Failed, "this bot has no LED pin set");
        return;
      }
      identifying = true;
      identifyUntilMs = millis() + command.seconds * 1000u;
      snprintf(message, sizeof message, "blinking for %u s", static_cast<unsigned>(command.seconds));
      answerCommand(command.id, CommandOutcome::Done, message);
      return;
    case CommandKind::Serial:
      if (!pushSerialInput(command.line)) {
        answerCommand(command.id, CommandOutcome::Failed, "the sketch has not read the previous lines yet");
        return;
      }
      snprintf(message, sizeof message, "%u bytes to Serial", static_cast<unsigned>(strlen(command.line)));
      answerCommand(command.id, CommandOutcome::Done, message);
      return;
    case CommandKind::Reboot:
      answerCommand(command.id, CommandOutcome::Done, "rebooting");
      restartSoon("reboot command");
      return;
    case CommandKind::ResetWifi:
      store.forgetWifi();
      answerCommand(command.id, CommandOutcome::Done, "Wi-Fi settings cleared, opening the setup portal");
      restartSoon("reset_wifi command");
      return;
    case CommandKind::TestUpdate:
    case CommandKind::UpdateNow:
      // Like a short press of the button; answered when the update ends (before the restart when it installs).
      copyText(updateCommandId, sizeof updateCommandId, command.id);
      checkAndPull();
      finishUpdateCommand(CommandOutcome::Failed, "the update ended without a result");
      return;
  }
}

/** A command text from either path; an unreadable one is answered failed when it names its id. */
void runCommandText(const char* text, size_t length) {
  static Command command;  // the agent task's stack is kept for HTTPUpdate and TLS
  const JsonError error = parseCommand(text, length, command);
  if (error == JsonError::None) {
    runCommand(command);
    return;
  }
  Serial.printf("[webide] command refused: %s\n", jsonErrorName(error));
  if (command.id[0] != '\0' && !recentCommands.seen(command.id)) {
    recentCommands.remember(command.id);
    answerCommand(command.id, CommandOutcome::Failed, jsonErrorName(error));
  }
}

void runReplyCommands(const JsonSpan& commands) {
  size_t offset = 0;
  JsonSpan element;
  while (nextArrayElement(commands, offset, element)) runCommandText(element.text, element.length);
}

void blinkWhileIdentifying(uint32_t nowMs) {
  if (!identifying) return;
  if (due(nowMs, identifyUntilMs)) {
    identifying = false;
    digitalWrite(outputPins.led, ledOn ? HIGH : LOW);  // back to what the LED command last set
    return;
  }
  pinMode(outputPins.led, OUTPUT);
  digitalWrite(outputPins.led, (nowMs / kIdentifyBlinkMs) % 2 == 0 ? HIGH : LOW);
}

// ---------------------------------------------------------------- the live link

bool carryOut(LinkStep step, uint32_t nowMs) {
  switch (step) {
    case LinkStep::Start:
      Serial.printf("[webide] live link: connecting to %s\n", liveSession.broker());
      return liveLink.start(liveSession.broker(), settings.productId, settings.token);
    case LinkStep::Stop:
      if (liveSession.online()) Serial.println("[webide] live link lost");
      liveLink.stop();
      return true;
    case LinkStep::Announce: {
      const bool announced = liveLink.announce();
      if (announced) Serial.println("[webide] live link connected");
      return announced;
    }
    case LinkStep::PublishHealth: {
      char body[768];
      const size_t length = buildHealth(nowMs, body, sizeof body);
      return length > 0 && liveLink.publish(kTopicHealth, body, length, false);
    }
    case LinkStep::FlushLogs: {
      static char batch[1024];
      const size_t length = takeSerialLines(batch, sizeof batch);
      return length == 0 || liveLink.publish(kTopicLogs, batch, length, false);
    }
    default:
      return true;
  }
}

void serviceLiveLink(uint32_t nowMs, bool wifiUp) {
  if (!liveLinkSupported()) return;
  liveSession.setWifi(wifiUp);
  bool connected = false;
  bool lost = false;
  liveLink.takeEvents(connected, lost);
  if (connected) liveSession.clientConnected();
  if (lost) liveSession.clientLost();
  for (int i = 0; i < kMaxLinkStepsPerPass; ++i) {
    const LinkStep step = liveSession.next(nowMs, serialLinesQueued());
    if (step == LinkStep::None) break;
    liveSession.done(step, carryOut(step, nowMs), nowMs);
  }
  static InboundMessage message;
  while (liveLink.takeMessage(message)) {
    if (message.topic == InboundTopic::Command) {
      runCommandText(message.payload, message.length);
    } else if (message.topic == InboundTopic::Ota) {
      Serial.println("[webide] new firmware waiting: press the button to install it");
    }
  }
}

void handleButton(uint32_t nowMs) {
  const ButtonEvent event = button.update(digitalRead(WEBIDE_BUTTON_PIN) == LOW, nowMs);
  if (event == ButtonEvent::ShortPress) {
    Serial.println("[webide] button: check for new firmware");
    checkRequested = true;
  } else if (event == ButtonEvent::LongPress) {
    Serial.println("[webide] button held: forgetting Wi-Fi and opening the setup portal");
    store.forgetWifi();
    delay(200);
    ESP.restart();
  }
}

void joinWifi(uint32_t nowMs) {
  if (!due(nowMs, nextWifiAttemptMs)) return;
  Serial.printf("[webide] joining Wi-Fi '%s'\n", settings.ssid);
  WiFi.disconnect();
  WiFi.begin(settings.ssid, settings.password);
  nextWifiAttemptMs = nowMs + wifiBackoff.nextDelayMs();
}

void onConnected(uint32_t nowMs) {
  if (!wasConnected) {
    wasConnected = true;
    everConnected = true;
    wifiBackoff.reset();
    nextHeartbeatMs = nowMs;
    pages.openStatusPage();
    Serial.printf("[webide] online as %s, status page http://%s/\n", settings.productId,
                  WiFi.localIP().toString().c_str());
  }
  if (rollbackReportDue) {
    sendStatus(OtaStatus::Failed, 0, "rolled back: the new firmware did not confirm");
    store.saveMd5BeforeUpdate("");
    rollbackReportDue = false;
  }
  const bool onProbation = machine.state() == UpdateState::AwaitingConfirmation;
  if (due(nowMs, nextHeartbeatMs)) {
    if (liveSession.carriesHeartbeats(onProbation)) {
      nextHeartbeatMs = nowMs + WEBIDE_HEARTBEAT_INTERVAL_MS;  // health on the link stands in for it
    } else {
      sendHeartbeat(nowMs);
    }
  }
  if (checkRequested) {
    checkRequested = false;
    checkAndPull();
  }
}

void runStation(uint32_t nowMs) {
  const bool wifiUp = WiFi.isConnected();
  serviceLiveLink(nowMs, wifiUp);
  if (wifiUp) {
    onConnected(nowMs);
  } else {
    wasConnected = false;
    if (!everConnected && nowMs - bootMs > kPortalAfterNoWifiMs) {
      openPortal(true);
      return;
    }
    joinWifi(nowMs);
  }
  perform(machine.tick(nowMs));
}

void runPortal(uint32_t nowMs) {
  setLed((nowMs / 250) % 2 == 0);
  if (portalForFailure && nowMs - portalOpenedMs > kPortalRetryAfterMs) {
    Serial.println("[webide] no settings saved; restarting to try the stored Wi-Fi again");
    ESP.restart();
  }
}

void classifyThisBoot() {
  copyText(runningMd5, sizeof runningMd5, ESP.getSketchMD5().c_str());
#ifdef WEBIDE_FIRMWARE_VERSION
  copyText(firmwareVersion, sizeof firmwareVersion, WEBIDE_FIRMWARE_VERSION);
#else
  copyText(firmwareVersion, sizeof firmwareVersion, runningMd5);
#endif
  char md5BeforeUpdate[kMd5HexLength + 1];
  store.loadMd5BeforeUpdate(md5BeforeUpdate, sizeof md5BeforeUpdate);
  const BootKind kind = classifyBoot(runningMd5, md5BeforeUpdate, imagePendingVerify());
  if (kind == BootKind::Normal && md5BeforeUpdate[0] != '\0') store.saveMd5BeforeUpdate("");
  if (kind == BootKind::RolledBack) Serial.println("[webide] the last update was rolled back");
  if (kind == BootKind::NewImageOnProbation) Serial.println("[webide] new firmware on probation");
  perform(machine.boot(kind, millis()));
}

void startUp() {
  bootMs = millis();
  pinMode(WEBIDE_BUTTON_PIN, INPUT_PULLUP);
  if (WEBIDE_LED_PIN >= 0) pinMode(WEBIDE_LED_PIN, OUTPUT);
  classifyThisBoot();
  const uint32_t seed = esp_random();
  heartbeatBackoff = Backoff(2000, 300000, seed);
  wifiBackoff = Backoff(5000, 120000, seed ^ 0x5A5A5A5Au);
  liveSession = LiveSession(WEBIDE_HEARTBEAT_INTERVAL_MS, kLogFlushMs, kLinkConnectTimeoutMs,
                            Backoff(2000, 300000, seed ^ 0xA5A5A5A5u));
  configured = store.loadSettings(settings);
  store.loadOutputPins(outputPins);
  WiFi.persistent(false);
  WiFi.mode(WIFI_STA);
  WiFi.setAutoReconnect(true);
  if (!configured) openPortal(false);
}

void agentTask(void*) {
  startUp();
  for (;;) {
    const uint32_t nowMs = millis();
    handleButton(nowMs);
    pages.handle();
    if (pages.rebootRequested(nowMs)) ESP.restart();
    if (pages.portalOpen()) {
      runPortal(nowMs);
    } else {
      runStation(nowMs);
      blinkWhileIdentifying(nowMs);
    }
    vTaskDelay(pdMS_TO_TICKS(kPollIntervalMs));
  }
}

}  // namespace

void onSketchSetup() {
  if (agentStarted) return;
  agentStarted = true;
  Serial.begin(115200);
  Serial.println("[webide] OTA agent starting");
  xTaskCreate(agentTask, "webide-agent", kTaskStackBytes, nullptr, 1, nullptr);
}

void onSketchLoop() { sketchLoopReached = true; }

void reportSensor(const char* name, double value) {
  if (name == nullptr || name[0] == '\0') return;
  portENTER_CRITICAL(&sensorLock);
  size_t index = 0;
  while (index < sensorCount && strncmp(sensors[index].name, name, sizeof sensors[index].name) != 0) ++index;
  if (index == sensorCount && sensorCount < kMaxSensors) {
    copyText(sensors[index].name, sizeof sensors[index].name, name);
    ++sensorCount;
  }
  if (index < sensorCount) sensors[index].value = value;
  portEXIT_CRITICAL(&sensorLock);
}

}  // namespace webide
