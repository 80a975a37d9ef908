// WiFiScan: lists the Wi-Fi networks around the bot on the serial monitor (115200 baud) every ten seconds,
// strongest first, with their signal strength and whether they need a password.
// ESP32 only: on other boards it prints a note instead.

#ifdef ESP32
#include <WiFi.h>
#endif

const unsigned long SCAN_EVERY_MS = 10000;

void setup() {
  Serial.begin(115200);
#ifdef ESP32
  WiFi.mode(WIFI_STA);
  WiFi.disconnect();
#endif
}

void loop() {
#ifdef ESP32
  printNetworks();
#else
  Serial.println("WiFiScan needs an ESP32 board.");
#endif
  delay(SCAN_EVERY_MS);
}

#ifdef ESP32
void printNetworks() {
  Serial.println("Scanning...");
  int count = WiFi.scanNetworks();
  if (count <= 0) {
    Serial.println("No networks found.");
    return;
  }
  for (int i = 0; i < count; i++) {
    Serial.printf("%2d  %-32s  %4d dBm  %s\n", i + 1, WiFi.SSID(i).c_str(), WiFi.RSSI(i),
                  WiFi.encryptionType(i) == WIFI_AUTH_OPEN ? "open" : "password");
  }
  WiFi.scanDelete();
}
#endif
