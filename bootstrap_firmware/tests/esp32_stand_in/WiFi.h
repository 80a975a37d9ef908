// Stand-in (syntax check only) for Arduino-ESP32 3.x libraries/WiFi/src/WiFi.h, WiFiSTA.h, WiFiGeneric.h and
// cores/esp32/IPAddress.h: the calls the agent task makes.
#pragma once
#include <stdint.h>

#include "Arduino.h"

typedef enum { WIFI_MODE_NULL = 0, WIFI_MODE_STA } wifi_mode_t;
#define WIFI_STA WIFI_MODE_STA

class IPAddress {
 public:
  String toString() const;
};

class WiFiClass {
 public:
  int begin(const char* ssid, const char* passphrase);
  bool disconnect(bool wifioff = false, bool eraseap = false);
  bool isConnected();
  IPAddress localIP();
  String macAddress();
  int8_t RSSI();
  void persistent(bool persistent);
  bool mode(wifi_mode_t mode);
  bool setAutoReconnect(bool autoReconnect);
};
extern WiFiClass WiFi;
