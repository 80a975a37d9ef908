// What a sketch does with Serial, then what the agent takes from the tee and gives to the sketch.
#include <stdio.h>

#include "Arduino.h"
#include "platform/serial_tee.h"

extern "C" size_t fakeUartWritten(int number);

int main() {
  Serial.begin(115200);
  Serial1.begin(9600);
  Serial.println("hello");
  Serial.printf("distance %d cm\n", 42);
  Serial.write('x');
  Serial.write('\n');
  Serial1.println("to a sensor");  // another UART: not teed
  Serial.write(reinterpret_cast<const uint8_t*>("half a line"), 11);
  char batch[256];
  const size_t length = webide::takeSerialLines(batch, sizeof batch);
  printf("uart0 bytes:%u uart1 bytes:%u\n", static_cast<unsigned>(fakeUartWritten(0)),
         static_cast<unsigned>(fakeUartWritten(1)));
  for (char* c = batch; *c; ++c) {
    if (*c == '\n') *c = '|';
  }
  printf("tee:%u:%s\n", static_cast<unsigned>(length), batch);

  webide::pushSerialInput("speed 7");
  printf("available:%d\n", Serial.available());
  printf("peek:%c\n", Serial.peek());
  char typed[32] = {0};
  for (int i = 0; i < 31 && Serial.available() > 0; ++i) typed[i] = static_cast<char>(Serial.read());
  printf("read:%s", typed);
  printf("after:%d\n", Serial.read());
  return 0;
}
