// What arduino-cli makes of a student's .ino: ordinary C++ setup/loop definitions.
#include <stdio.h>

void setup() { puts("student setup"); }

void loop() { puts("student loop"); }
