#include "update_machine.h"

#include "digest.h"

namespace webide {

BootKind classifyBoot(const char* runningMd5, const char* md5BeforeUpdate, bool imagePendingVerify) {
  const bool updateOutstanding = md5BeforeUpdate != nullptr && md5BeforeUpdate[0] != '\0';
  if (updateOutstanding && digestsEqual(runningMd5, md5BeforeUpdate)) return BootKind::RolledBack;
  return imagePendingVerify ? BootKind::NewImageOnProbation : BootKind::Normal;
}

UpdateMachine::UpdateMachine(uint32_t confirmWindowMs)
    : confirmWindowMs_(confirmWindowMs),
      probationStartMs_(0),
      state_(UpdateState::Idle),
      outcome_(UpdateOutcome::None),
      sketchRunning_(false) {}

UpdateAction UpdateMachine::moveTo(UpdateState state, UpdateOutcome outcome, UpdateAction action) {
  state_ = state;
  outcome_ = outcome;
  return action;
}

UpdateAction UpdateMachine::boot(BootKind kind, uint32_t nowMs) {
  switch (kind) {
    case BootKind::NewImageOnProbation:
      probationStartMs_ = nowMs;
      return moveTo(UpdateState::AwaitingConfirmation, UpdateOutcome::Installed, UpdateAction::None);
    case BootKind::RolledBack:
      return moveTo(UpdateState::Idle, UpdateOutcome::RolledBack, UpdateAction::ReportRolledBack);
    default:
      return moveTo(UpdateState::Idle, UpdateOutcome::None, UpdateAction::None);
  }
}

UpdateAction UpdateMachine::requestCheck() {
  if (state_ != UpdateState::Idle) return UpdateAction::None;
  return moveTo(UpdateState::Checking, outcome_, UpdateAction::StartCheck);
}

UpdateAction UpdateMachine::checkAnswered(bool newImageOffered) {
  if (state_ != UpdateState::Checking) return UpdateAction::None;
  if (!newImageOffered) return moveTo(UpdateState::Idle, UpdateOutcome::UpToDate, UpdateAction::None);
  return moveTo(UpdateState::Downloading, outcome_, UpdateAction::StartDownload);
}

UpdateAction UpdateMachine::checkFailed() {
  if (state_ != UpdateState::Checking) return UpdateAction::None;
  return moveTo(UpdateState::Idle, UpdateOutcome::Failed, UpdateAction::None);
}

UpdateAction UpdateMachine::downloadFinished(bool succeeded) {
  if (state_ != UpdateState::Downloading) return UpdateAction::None;
  if (!succeeded) return moveTo(UpdateState::Idle, UpdateOutcome::Failed, UpdateAction::None);
  return moveTo(UpdateState::Rebooting, UpdateOutcome::Installed, UpdateAction::Reboot);
}

UpdateAction UpdateMachine::heartbeatAccepted() {
  if (state_ != UpdateState::AwaitingConfirmation || !sketchRunning_) return UpdateAction::None;
  return moveTo(UpdateState::Idle, UpdateOutcome::Confirmed, UpdateAction::MarkImageValid);
}

UpdateAction UpdateMachine::tick(uint32_t nowMs) {
  if (state_ != UpdateState::AwaitingConfirmation) return UpdateAction::None;
  if (nowMs - probationStartMs_ < confirmWindowMs_) return UpdateAction::None;
  return moveTo(UpdateState::Rebooting, UpdateOutcome::RolledBack, UpdateAction::RollBackAndReboot);
}

const char* updateStateName(UpdateState state) {
  switch (state) {
    case UpdateState::Idle: return "idle";
    case UpdateState::Checking: return "checking";
    case UpdateState::Downloading: return "downloading";
    case UpdateState::Rebooting: return "rebooting";
    case UpdateState::AwaitingConfirmation: return "awaiting confirmation";
  }
  return "unknown";
}

const char* updateOutcomeName(UpdateOutcome outcome) {
  switch (outcome) {
    case UpdateOutcome::None: return "none yet";
    case UpdateOutcome::UpToDate: return "already up to date";
    case UpdateOutcome::Installed: return "installed, awaiting confirmation";
    case UpdateOutcome::Confirmed: return "running new firmware";
    case UpdateOutcome::Failed: return "failed";
    case UpdateOutcome::RolledBack: return "rolled back";
  }
  return "unknown";
}

}  // namespace webide
