// Link-time injection: the build passes --wrap for the sketch's setup and loop, so the core's calls land
// here first and reach the sketch through __real_<symbol>. The sketch needs no OTA code of its own.
//
// The symbol names depend on how the core declares setup/loop. Arduino-ESP32 declares them as C++
// functions (Arduino.h, outside extern "C"), so they are the mangled _Z5setupv and _Z4loopv; the AVR
// core declares them inside extern "C", so there they are plain setup and loop. The linker flags must
// name the same symbols:
//   ESP32: -Wl,--wrap=_Z5setupv -Wl,--wrap=_Z4loopv
//   AVR:   -Wl,--wrap=setup -Wl,--wrap=loop   (and no -flto: old ld ignores --wrap inside LTO)
// Without the flags the link fails on the undefined __real_ symbols (kept alive by the constructor
// below) instead of silently producing a firmware without the agent.
#include "link_hooks.h"

#if defined(ARDUINO_ARCH_AVR)
#define WEBIDE_SETUP_SYMBOL setup
#define WEBIDE_LOOP_SYMBOL loop
#else
#define WEBIDE_SETUP_SYMBOL _Z5setupv
#define WEBIDE_LOOP_SYMBOL _Z4loopv
#endif

#define WEBIDE_PASTE(prefix, symbol) prefix##symbol
#define WEBIDE_WITH_PREFIX(prefix, symbol) WEBIDE_PASTE(prefix, symbol)
#define WEBIDE_REAL(symbol) WEBIDE_WITH_PREFIX(__real_, symbol)
#define WEBIDE_WRAP(symbol) WEBIDE_WITH_PREFIX(__wrap_, symbol)

extern "C" void WEBIDE_REAL(WEBIDE_SETUP_SYMBOL)();
extern "C" void WEBIDE_REAL(WEBIDE_LOOP_SYMBOL)();

extern "C" void WEBIDE_WRAP(WEBIDE_SETUP_SYMBOL)() {
  webide::onSketchSetup();
  WEBIDE_REAL(WEBIDE_SETUP_SYMBOL)();
}

extern "C" void WEBIDE_WRAP(WEBIDE_LOOP_SYMBOL)() {
  webide::onSketchLoop();
  WEBIDE_REAL(WEBIDE_LOOP_SYMBOL)();
}

namespace {

// Static constructors survive --gc-sections, so this reference does too: it turns "built without the
// wrap flags" into a link error instead of a firmware that can no longer be updated over the air.
struct RequireWrapFlags {
  RequireWrapFlags() {
    static void (*volatile realSetup)() = &WEBIDE_REAL(WEBIDE_SETUP_SYMBOL);
    (void)realSetup;
  }
};

const RequireWrapFlags requireWrapFlags;

}  // namespace
