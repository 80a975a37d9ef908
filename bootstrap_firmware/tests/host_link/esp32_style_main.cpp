// Host model of Arduino-ESP32's main.cpp: setup/loop declared as C++ functions, as in its Arduino.h.
void setup(void);
void loop(void);

int main() {
  setup();
  for (int i = 0; i < 2; ++i) loop();
  return 0;
}
