// esp-mqtt adapter. Written against ESP-IDF 5.x's components/mqtt/esp-mqtt/include/mqtt_client.h (the nested
// esp_mqtt_client_config_t: broker.address.uri, credentials.username, credentials.client_id,
// credentials.authentication.password, session.last_will.{topic,msg,msg_len,qos,retain}, session.keepalive,
// network.disable_auto_reconnect, broker.verification.crt_bundle_attach (mqtts:// brokers need a certificate from a public CA); esp_mqtt_client_init / _register_event /
// _start / _stop / _destroy / _publish / _subscribe, which in C++ is a macro for esp_mqtt_client_subscribe_single on
// newer releases; esp_mqtt_event_t's event_id, topic, topic_len, data, data_len, current_data_offset,
// total_data_len). Arduino-ESP32 2.x bundles ESP-IDF 4.4, whose flat configuration differs: there the live link is
// left out and the bot keeps to HTTP.
#include "live_link_client.h"

#include <Arduino.h>

#include "../core/live_link.h"
#include "../core/settings.h"

#if defined(ESP_ARDUINO_VERSION_MAJOR) && ESP_ARDUINO_VERSION_MAJOR >= 3
#define WEBIDE_LIVE_LINK 1
#include <mqtt_client.h>
#if CONFIG_MBEDTLS_CERTIFICATE_BUNDLE
// Declared here rather than by including esp_crt_bundle.h: WiFiClientSecure ships a header of the same name that
// shadows ESP-IDF's (components/mbedtls/esp_crt_bundle/include/esp_crt_bundle.h) on the library include path.
extern "C" esp_err_t esp_crt_bundle_attach(void* conf);
#define WEBIDE_LIVE_LINK_CA_BUNDLE 1
#endif
#else
#define WEBIDE_LIVE_LINK 0
#endif

namespace webide {

#if WEBIDE_LIVE_LINK

namespace {

const int kKeepAliveSeconds = 30;  // the broker notices a vanished bot (and says its last will) within ~45 s
const int kNetworkTimeoutMs = 10000;
const char kOffline[] = "{\"online\":false}";
const char kOnline[] = "{\"online\":true}";

esp_mqtt_client_handle_t client = nullptr;
portMUX_TYPE eventLock = portMUX_INITIALIZER_UNLOCKED;
bool connectedEvent = false;
bool lostEvent = false;
LinkInbox inbox;
char productId[65];
char statusTopic[96];

// Runs on esp-mqtt's own task: it only records what happened; the agent's task acts on it.
void onEvent(void*, esp_event_base_t, int32_t eventId, void* eventData) {
  esp_mqtt_event_handle_t event = static_cast<esp_mqtt_event_handle_t>(eventData);
  switch (static_cast<esp_mqtt_event_id_t>(eventId)) {
    case MQTT_EVENT_CONNECTED:
      portENTER_CRITICAL(&eventLock);
      connectedEvent = true;
      portEXIT_CRITICAL(&eventLock);
      break;
    case MQTT_EVENT_DISCONNECTED:
    case MQTT_EVENT_ERROR:  // a refused login or a transport error: either ends this attempt
      portENTER_CRITICAL(&eventLock);
      lostEvent = true;
      portEXIT_CRITICAL(&eventLock);
      break;
    case MQTT_EVENT_DATA: {
      if (event->data_len < 0 || event->total_data_len < 0 || event->current_data_offset < 0) break;
      // Only the first piece of a long message names its topic; the inbox remembers it for the rest.
      const InboundTopic topic = event->current_data_offset == 0
                                     ? routeTopic(productId, event->topic, static_cast<size_t>(event->topic_len))
                                     : InboundTopic::Command;
      if (event->current_data_offset == 0 && topic == InboundTopic::Other) break;
      portENTER_CRITICAL(&eventLock);
      inbox.receive(topic, static_cast<size_t>(event->current_data_offset), event->data,
                    static_cast<size_t>(event->data_len), static_cast<size_t>(event->total_data_len));
      portEXIT_CRITICAL(&eventLock);
      break;
    }
    default:
      break;
  }
}

}  // namespace

bool liveLinkSupported() { return true; }

bool LiveLinkClient::start(const char* brokerUrl, const char* id, const char* token) {
  stop();
  if (!copyText(productId, sizeof productId, id) || !buildTopic(id, kTopicStatus, statusTopic, sizeof statusTopic)) {
    return false;
  }
  portENTER_CRITICAL(&eventLock);
  connectedEvent = false;
  lostEvent = false;
  portEXIT_CRITICAL(&eventLock);
  esp_mqtt_client_config_t config = {};
  config.broker.address.uri = brokerUrl;
#ifdef WEBIDE_LIVE_LINK_CA_BUNDLE
  if (strncmp(brokerUrl, "mqtts://", 8) == 0) config.broker.verification.crt_bundle_attach = esp_crt_bundle_attach;
#endif
  config.credentials.username = productId;
  config.credentials.client_id = productId;  // one session per bot: a second connection replaces the first
  config.credentials.authentication.password = token;
  config.session.last_will.topic = statusTopic;
  config.session.last_will.msg = kOffline;
  config.session.last_will.msg_len = static_cast<int>(sizeof kOffline - 1);
  config.session.last_will.qos = 1;
  config.session.last_will.retain = 1;
  config.session.keepalive = kKeepAliveSeconds;
  config.network.disable_auto_reconnect = true;  // LiveSession paces the retries with the shared Backoff
  config.network.timeout_ms = kNetworkTimeoutMs;
  client = esp_mqtt_client_init(&config);
  if (client == nullptr) return false;
  if (esp_mqtt_client_register_event(client, MQTT_EVENT_ANY, onEvent, nullptr) != ESP_OK ||
      esp_mqtt_client_start(client) != ESP_OK) {
    esp_mqtt_client_destroy(client);
    client = nullptr;
    return false;
  }
  return true;
}

void LiveLinkClient::stop() {
  if (client == nullptr) return;
  esp_mqtt_client_stop(client);
  esp_mqtt_client_destroy(client);
  client = nullptr;
  portENTER_CRITICAL(&eventLock);
  connectedEvent = false;
  lostEvent = false;
  portEXIT_CRITICAL(&eventLock);
}

bool LiveLinkClient::announce() {
  if (client == nullptr) return false;
  char topic[96];
  if (!buildTopic(productId, kTopicCommand, topic, sizeof topic) || esp_mqtt_client_subscribe(client, topic, 1) < 0) {
    return false;
  }
  if (!buildTopic(productId, kTopicOta, topic, sizeof topic) || esp_mqtt_client_subscribe(client, topic, 1) < 0) {
    return false;
  }
  return esp_mqtt_client_publish(client, statusTopic, kOnline, static_cast<int>(sizeof kOnline - 1), 1, 1) >= 0;
}

bool LiveLinkClient::publish(const char* leaf, const char* payload, size_t length, bool retain) {
  char topic[96];
  if (client == nullptr || !buildTopic(productId, leaf, topic, sizeof topic)) return false;
  return esp_mqtt_client_publish(client, topic, payload, static_cast<int>(length), 1, retain ? 1 : 0) >= 0;
}

void LiveLinkClient::takeEvents(bool& connected, bool& lost) {
  portENTER_CRITICAL(&eventLock);
  connected = connectedEvent;
  lost = lostEvent;
  connectedEvent = false;
  lostEvent = false;
  portEXIT_CRITICAL(&eventLock);
}

bool LiveLinkClient::takeMessage(InboundMessage& out) {
  portENTER_CRITICAL(&eventLock);
  const bool taken = inbox.take(out);
  portEXIT_CRITICAL(&eventLock);
  return taken;
}

uint32_t LiveLinkClient::droppedMessages() {
  portENTER_CRITICAL(&eventLock);
  const uint32_t dropped = inbox.dropped();
  portEXIT_CRITICAL(&eventLock);
  return dropped;
}

#else  // Arduino-ESP32 2.x: no live link, the bot keeps to HTTP

bool liveLinkSupported() { return false; }
bool LiveLinkClient::start(const char*, const char*, const char*) { return false; }
void LiveLinkClient::stop() {}
bool LiveLinkClient::announce() { return false; }
bool LiveLinkClient::publish(const char*, const char*, size_t, bool) { return false; }
void LiveLinkClient::takeEvents(bool& connected, bool& lost) { connected = lost = false; }
bool LiveLinkClient::takeMessage(InboundMessage&) { return false; }
uint32_t LiveLinkClient::droppedMessages() { return 0; }

#endif

}  // namespace webide
