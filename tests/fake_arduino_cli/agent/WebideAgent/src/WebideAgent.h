// Stand-in for the OTA agent's header: see stand_in_agent.cpp.
#pragma once
