// PwmMotor: speeds a DC motor up and down with PWM through a motor driver (e.g. an L298N or a MOSFET board).
// Connect the driver's speed (enable) input to SPEED_PIN and its direction input to DIRECTION_PIN.
// The Motor tab holds the driver code, so this file only says what the motor should do.

#include "Motor.h"

#ifdef ESP32
Motor motor(25, 26);  // speed pin, direction pin
#else
Motor motor(9, 8);  // pin 9 is PWM-capable on an Arduino Uno
#endif

const int STEP = 5;
const unsigned long STEP_MS = 40;

void setup() {
  Serial.begin(115200);
  motor.begin();
}

void loop() {
  rampTo(255, true);
  rampTo(0, true);
  rampTo(255, false);
  rampTo(0, false);
}

void rampTo(int target, bool forward) {
  Serial.print(forward ? "Forward to " : "Backward to ");
  Serial.println(target);
  int speed = motor.speed();
  while (speed != target) {
    speed += speed < target ? STEP : -STEP;
    speed = constrain(speed, 0, 255);
    motor.drive(speed, forward);
    delay(STEP_MS);
  }
}
