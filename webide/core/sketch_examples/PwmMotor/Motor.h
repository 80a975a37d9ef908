// A DC motor behind a driver board: one PWM pin sets the speed, one digital pin the direction.
#pragma once

#include <Arduino.h>

class Motor {
 public:
  Motor(int speedPin, int directionPin);
  void begin();
  void drive(int speed, bool forward);  // speed 0 (stopped) to 255 (full)
  int speed() const;

 private:
  int speedPin_;
  int directionPin_;
  int speed_;
};
