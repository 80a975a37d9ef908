// Blink: switches the on-board LED on and off once a second.
// Most ESP32 boards have their LED on GPIO 2; boards that name it LED_BUILTIN use that pin instead.

#ifdef LED_BUILTIN
const int LED_PIN = LED_BUILTIN;
#else
const int LED_PIN = 2;
#endif

const unsigned long BLINK_MS = 500;

void setup() {
  pinMode(LED_PIN, OUTPUT);
}

void loop() {
  digitalWrite(LED_PIN, HIGH);
  delay(BLINK_MS);
  digitalWrite(LED_PIN, LOW);
  delay(BLINK_MS);
}
