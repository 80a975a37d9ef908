// The device side of the flash sequence, including the probation of a freshly installed image.
#pragma once

#include <stdint.h>

namespace webide {

enum class UpdateState : uint8_t { Idle, Checking, Downloading, Rebooting, AwaitingConfirmation };

enum class UpdateOutcome : uint8_t { None, UpToDate, Installed, Confirmed, Failed, RolledBack };

enum class BootKind : uint8_t { Normal, NewImageOnProbation, RolledBack };

/** What the platform layer must do after a transition. */
enum class UpdateAction : uint8_t {
  None,
  StartCheck,
  StartDownload,
  Reboot,
  MarkImageValid,
  RollBackAndReboot,
  ReportRolledBack,
};

/**
 * Decides how this boot relates to the last update. `md5BeforeUpdate` is the MD5 the device ran when it
 * installed an update (empty when no update is outstanding): running that same image again means the new
 * one was rolled back, by us or by the bootloader after a crash.
 */
BootKind classifyBoot(const char* runningMd5, const char* md5BeforeUpdate, bool imagePendingVerify);

/**
 * Idle -> Checking -> Downloading -> Rebooting, with failures back to Idle. After a reboot into a new
 * image it waits in AwaitingConfirmation: the image becomes valid only once the student's loop runs and
 * the server accepted a heartbeat; otherwise, when the window closes, it is rolled back. While on
 * probation no new download may start, because it would overwrite the only known-good image.
 */
class UpdateMachine {
 public:
  explicit UpdateMachine(uint32_t confirmWindowMs);

  UpdateAction boot(BootKind kind, uint32_t nowMs);
  UpdateAction requestCheck();
  UpdateAction checkAnswered(bool newImageOffered);
  UpdateAction checkFailed();
  UpdateAction downloadFinished(bool succeeded);
  void noteSketchRunning() { sketchRunning_ = true; }
  UpdateAction heartbeatAccepted();
  UpdateAction tick(uint32_t nowMs);

  UpdateState state() const { return state_; }
  UpdateOutcome lastOutcome() const { return outcome_; }

 private:
  UpdateAction moveTo(UpdateState state, UpdateOutcome outcome, UpdateAction action);

  uint32_t confirmWindowMs_;
  uint32_t probationStartMs_;
  UpdateState state_;
  UpdateOutcome outcome_;
  bool sketchRunning_;
};

const char* updateStateName(UpdateState state);
const char* updateOutcomeName(UpdateOutcome outcome);

}  // namespace webide
