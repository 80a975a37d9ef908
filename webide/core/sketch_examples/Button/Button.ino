// Button: the LED follows a push button, and every press is counted on the serial monitor (115200 baud).
// Wire the button between BUTTON_PIN and GND: the internal pull-up keeps the pin HIGH until it is pressed.
// The reading is debounced: it must stay the same for DEBOUNCE_MS before it counts.

#ifdef LED_BUILTIN
const int LED_PIN = LED_BUILTIN;
#else
const int LED_PIN = 2;
#endif

#ifdef ESP32
const int BUTTON_PIN = 0;  // the BOOT button of most ESP32 boards
#else
const int BUTTON_PIN = 2;
#endif

const unsigned long DEBOUNCE_MS = 30;

int stableState = HIGH;
int lastReading = HIGH;
unsigned long lastChange = 0;
unsigned long presses = 0;

void setup() {
  Serial.begin(115200);
  pinMode(LED_PIN, OUTPUT);
  pinMode(BUTTON_PIN, INPUT_PULLUP);
}

void loop() {
  int reading = digitalRead(BUTTON_PIN);
  if (reading != lastReading) {
    lastReading = reading;
    lastChange = millis();
  }
  if (millis() - lastChange >= DEBOUNCE_MS && reading != stableState) {
    stableState = reading;
    onButtonChanged(stableState == LOW);
  }
}

void onButtonChanged(bool pressed) {
  digitalWrite(LED_PIN, pressed ? HIGH : LOW);
  if (pressed) {
    presses++;
    Serial.print("Pressed ");
    Serial.print(presses);
    Serial.println(presses == 1 ? " time" : " times");
  }
}
