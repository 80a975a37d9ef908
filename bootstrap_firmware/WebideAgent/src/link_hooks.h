// The two calls the linker wrappers make into the agent; kept free of Arduino headers so the wrapper
// source can be linked and checked on any toolchain.
#pragma once

namespace webide {

/** Runs once, before the sketch's own setup(): starts the agent. */
void onSketchSetup();

/** Runs before every pass of the sketch's loop(): proves the sketch got past setup(). */
void onSketchLoop();

}  // namespace webide
