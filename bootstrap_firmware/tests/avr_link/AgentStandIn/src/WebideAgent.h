// Same header name as the real agent, so the generated sketch file pulls this library in the same way.
#pragma once
