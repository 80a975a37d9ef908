#include "Motor.h"

Motor::Motor(int speedPin, int directionPin)
    : speedPin_(speedPin), directionPin_(directionPin), speed_(0) {}

void Motor::begin() {
  pinMode(speedPin_, OUTPUT);
  pinMode(directionPin_, OUTPUT);
  drive(0, true);
}

void Motor::drive(int speed, bool forward) {
  speed_ = constrain(speed, 0, 255);
  digitalWrite(directionPin_, forward ? HIGH : LOW);
  analogWrite(speedPin_, speed_);
}

int Motor::speed() const {
  return speed_;
}
