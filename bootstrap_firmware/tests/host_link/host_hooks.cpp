// Host stand-in of the agent's hooks for the link test.
#include <stdio.h>

#include "link_hooks.h"

namespace webide {

void onSketchSetup() { puts("agent hook: before setup"); }

void onSketchLoop() { puts("agent hook: before loop"); }

}  // namespace webide
