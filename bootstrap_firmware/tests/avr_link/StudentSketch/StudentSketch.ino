// An ordinary student sketch: its own setup() and loop(), no agent code, no agent include.
void setup() {
  Serial.begin(9600);
  Serial.println("student setup");
}

void loop() {
  Serial.println("student loop");
  delay(5);
}
