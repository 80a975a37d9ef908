// The device's own web pages: the captive setup portal and the LAN status page.
#pragma once

#include <stdint.h>

#include "../core/settings.h"
#include "device_store.h"

namespace webide {

/** What the status page shows, filled by the agent on each request. */
struct AgentView {
  const char* productId;
  const char* firmwareVersion;
  const char* sketchMd5;
  const char* updateState;
  const char* lastResult;
};

typedef void (*AgentViewProvider)(AgentView& view);

class WebPages {
 public:
  WebPages(DeviceStore& store, AgentViewProvider provider);

  /** Access point "webide-XXXX" with DNS answering every name with the portal, and the settings form. */
  void openSetupPortal(const DeviceSettings& current);

  /** Status page with a reboot button on the station's LAN address. */
  void openStatusPage();

  /** Serves pending requests; call often from the agent task. */
  void handle();

  bool portalOpen() const { return portalOpen_; }
  bool rebootRequested(uint32_t nowMs) const;

 private:
  void scanNetworks();
  void sendSetupForm(int httpCode, const char* message);
  void handleSave();
  void redirectToPortal();
  void sendStatus();
  void handleReboot();
  void requestReboot();

  DeviceStore& store_;
  AgentViewProvider provider_;
  DeviceSettings settings_;
  bool portalOpen_;
  bool serving_;
  bool rebootPending_;
  uint32_t rebootAtMs_;
};

}  // namespace webide
