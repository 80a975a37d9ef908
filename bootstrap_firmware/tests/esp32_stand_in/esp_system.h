// Stand-in (syntax check only) for ESP-IDF 5 components/esp_system/include/esp_system.h (nothing the agent names).
#pragma once
