#include "web_pages.h"

#include <DNSServer.h>
#include <WebServer.h>
#include <WiFi.h>

namespace webide {

namespace {

const uint8_t kDnsPort = 53;
const uint32_t kRebootDelayMs = 1500;
const int kMaxListedNetworks = 20;

WebServer server(80);
DNSServer dns;
String scannedNetworksHtml;

const char kPageHead[] =
    "<!DOCTYPE html><html><head><meta charset='utf-8'><meta name='viewport' content='width=device-width'>"
    "<title>webide bot</title><style>body{font-family:sans-serif;max-width:30em;margin:1em auto;padding:0 1em}"
    "label{display:block;margin-top:.8em}input{width:100%;padding:.4em;box-sizing:border-box}"
    "button{margin-top:1em;padding:.6em 1.2em}td{padding:.2em .6em}</style></head><body>";
const char kPageTail[] = "</body></html>";

String escaped(const char* text) {
  static char buffer[400];
  escapeHtml(text, buffer, sizeof buffer);
  return String(buffer);
}

String textField(const char* label, const char* name, const char* type, const char* value, const char* extra) {
  return String("<label>") + label + "<input name='" + name + "' type='" + type + "' value='" + escaped(value) +
         "' " + extra + "></label>";
}

String statusRow(const char* name, const String& value) {
  return String("<tr><td>") + name + "</td><td>" + escaped(value.c_str()) + "</td></tr>";
}

void readArg(const char* name, char* out, size_t capacity) { copyText(out, capacity, server.arg(name).c_str()); }

}  // namespace

WebPages::WebPages(DeviceStore& store, AgentViewProvider provider)
    : store_(store), provider_(provider), portalOpen_(false), serving_(false), rebootPending_(false),
      rebootAtMs_(0) {
  memset(&settings_, 0, sizeof settings_);
}

void WebPages::openSetupPortal(const DeviceSettings& current) {
  settings_ = current;
  WiFi.disconnect();
  WiFi.mode(WIFI_AP_STA);
  const String mac = WiFi.macAddress();
  const String name = "webide-" + mac.substring(12, 14) + mac.substring(15, 17);
  WiFi.softAP(name.c_str());
  dns.setErrorReplyCode(DNSReplyCode::NoError);
  dns.start(kDnsPort, "*", WiFi.softAPIP());
  scanNetworks();
  server.on("/", HTTP_GET, [this]() {
    if (server.hasArg("rescan")) scanNetworks();
    sendSetupForm(200, "");
  });
  server.on("/save", HTTP_POST, [this]() { handleSave(); });
  server.onNotFound([this]() { redirectToPortal(); });
  server.begin();
  portalOpen_ = true;
  serving_ = true;
  Serial.printf("[webide] setup portal open: join Wi-Fi '%s' and open http://%s/\n", name.c_str(),
                WiFi.softAPIP().toString().c_str());
}

void WebPages::openStatusPage() {
  if (serving_) return;
  server.on("/", HTTP_GET, [this]() { sendStatus(); });
  server.on("/reboot", HTTP_POST, [this]() { handleReboot(); });
  server.begin();
  serving_ = true;
}

void WebPages::handle() {
  if (!serving_) return;
  if (portalOpen_) dns.processNextRequest();
  server.handleClient();
}

bool WebPages::rebootRequested(uint32_t nowMs) const {
  return rebootPending_ && static_cast<int32_t>(nowMs - rebootAtMs_) >= 0;
}

void WebPages::requestReboot() {
  rebootPending_ = true;
  rebootAtMs_ = millis() + kRebootDelayMs;
}

void WebPages::scanNetworks() {
  const int16_t count = WiFi.scanNetworks();
  scannedNetworksHtml = "<datalist id='networks'>";
  for (int16_t i = 0; i < count && i < kMaxListedNetworks; ++i) {
    scannedNetworksHtml += "<option value='" + escaped(WiFi.SSID(i).c_str()) + "'>" + String(WiFi.RSSI(i)) +
                           " dBm" + (WiFi.encryptionType(i) == WIFI_AUTH_OPEN ? ", open" : "") + "</option>";
  }
  scannedNetworksHtml += "</datalist>";
  WiFi.scanDelete();
}

void WebPages::sendSetupForm(int httpCode, const char* message) {
  String page = kPageHead;
  page += "<h1>Set up this bot</h1>";
  if (message[0] != '\0') page += String("<p><strong>") + escaped(message) + "</strong></p>";
  page += "<form method='post' action='/save'>";
  page += textField("Wi-Fi name", "ssid", "text", settings_.ssid, "list='networks' required maxlength='32'");
  page += scannedNetworksHtml;
  page += textField("Wi-Fi password", "password", "password", "", "maxlength='63'");
  page += textField("Server URL", "server", "url", settings_.server, "required placeholder='http://host:5000'");
  page += textField("Product ID", "product", "text", settings_.productId, "required maxlength='64'");
  page += textField("Device token", "token", "password", "",
                    settings_.token[0] != '\0' ? "placeholder='leave empty to keep the saved token'" : "required");
  page += "<button type='submit'>Save and restart</button></form>";
  page += "<p><a href='/?rescan=1'>Scan for networks again</a></p>";
  page += kPageTail;
  server.send(httpCode, "text/html", page);
}

void WebPages::handleSave() {
  DeviceSettings submitted = settings_;
  readArg("ssid", submitted.ssid, sizeof submitted.ssid);
  readArg("password", submitted.password, sizeof submitted.password);
  readArg("server", submitted.server, sizeof submitted.server);
  readArg("product", submitted.productId, sizeof submitted.productId);
  if (server.arg("token").length() > 0) readArg("token", submitted.token, sizeof submitted.token);
  const SettingsError error = validateSettings(submitted);
  if (error != SettingsError::None) {
    sendSetupForm(400, settingsErrorMessage(error));
    return;
  }
  if (!store_.saveSettings(submitted)) {
    sendSetupForm(500, "Could not save the settings to flash. Try again.");
    return;
  }
  settings_ = submitted;
  server.send(200, "text/html", String(kPageHead) + "<h1>Saved</h1><p>The bot restarts and joins " +
                                    escaped(submitted.ssid) + ".</p>" + kPageTail);
  Serial.println("[webide] settings saved, restarting");
  requestReboot();
}

void WebPages::redirectToPortal() {
  server.sendHeader("Location", String("http://") + WiFi.softAPIP().toString() + "/", true);
  server.send(302, "text/plain", "");
}

void WebPages::sendStatus() {
  AgentView view;
  provider_(view);
  String page = kPageHead;
  page += "<h1>webide bot</h1><table>";
  page += statusRow("Device ID", view.productId);
  page += statusRow("MAC", WiFi.macAddress());
  page += statusRow("IP", WiFi.localIP().toString());
  page += statusRow("Uptime", String(millis() / 1000) + " s");
  page += statusRow("Firmware", view.firmwareVersion);
  page += statusRow("Sketch MD5", view.sketchMd5);
  page += statusRow("Update state", view.updateState);
  page += statusRow("Last update result", view.lastResult);
  page += "</table><form method='post' action='/reboot'><button type='submit'>Reboot</button></form>";
  page += kPageTail;
  server.send(200, "text/html", page);
}

void WebPages::handleReboot() {
  server.send(200, "text/html", String(kPageHead) + "<h1>Restarting</h1>" + kPageTail);
  Serial.println("[webide] reboot requested from the status page");
  requestReboot();
}

}  // namespace webide
