// Stand-in (syntax check only) for Arduino-ESP32 3.x libraries/HTTPUpdate/src/HTTPUpdate.h and
// libraries/HTTPClient/src/HTTPClient.h: the types server_link.h and the agent task name.
#pragma once
#include <functional>

#include "Arduino.h"

class HTTPClient {};

enum HTTPUpdateResult { HTTP_UPDATE_FAILED, HTTP_UPDATE_NO_UPDATES, HTTP_UPDATE_OK };

class HTTPUpdate {
 public:
  void onStart(std::function<void()> callback);
  void onProgress(std::function<void(int, int)> callback);
  String getLastErrorString();
};
extern HTTPUpdate httpUpdate;
