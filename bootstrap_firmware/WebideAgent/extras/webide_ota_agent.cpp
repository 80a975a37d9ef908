// Generated into the build copy of every ESP32 sketch by the webide compile service. Arduino's builder
// only compiles libraries whose headers some sketch file includes; this include is what pulls the
// WebideAgent library into the build.
#include <WebideAgent.h>
