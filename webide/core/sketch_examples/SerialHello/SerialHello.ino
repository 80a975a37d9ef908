// SerialHello: greets you on the serial monitor (115200 baud) and counts the seconds since the bot started.
// Type a line in the monitor and the bot answers with what it received.

const unsigned long REPORT_EVERY_MS = 1000;

unsigned long lastReport = 0;
String received;

void setup() {
  Serial.begin(115200);
  Serial.println();
  Serial.println("Hello from your bot!");
}

void loop() {
  unsigned long now = millis();
  if (now - lastReport >= REPORT_EVERY_MS) {
    lastReport = now;
    Serial.print("Up for ");
    Serial.print(now / 1000);
    Serial.println(" s");
  }
  answerWhatWasTyped();
}

void answerWhatWasTyped() {
  while (Serial.available() > 0) {
    char c = Serial.read();
    if (c == '\n' || c == '\r') {
      if (received.length() > 0) {
        Serial.print("You typed: ");
        Serial.println(received);
        received = "";
      }
    } else {
      received += c;
    }
  }
}
