// A minimal test runner: TEST(name) registers a case; CHECK records failures without stopping the case.
#pragma once

#include <stdio.h>
#include <string.h>

namespace testing {

typedef void (*TestFunction)();

struct TestCase {
  const char* name;
  TestFunction function;
};

const int kMaxTests = 256;

inline TestCase* registry() {
  static TestCase cases[kMaxTests];
  return cases;
}

inline int& registeredCount() {
  static int count = 0;
  return count;
}

inline int& currentFailures() {
  static int failures = 0;
  return failures;
}

struct Registrar {
  Registrar(const char* name, TestFunction function) {
    if (registeredCount() < kMaxTests) registry()[registeredCount()++] = TestCase{name, function};
  }
};

inline void reportFailure(const char* file, int line, const char* expression) {
  ++currentFailures();
  printf("  %s:%d: CHECK failed: %s\n", file, line, expression);
}

/** Runs every case whose name matches `only` (all when null); prints "N passed, M failed". */
inline int runTests(const char* only) {
  int passed = 0;
  int failed = 0;
  for (int i = 0; i < registeredCount(); ++i) {
    const TestCase& test = registry()[i];
    if (only != nullptr && strcmp(only, test.name) != 0) continue;
    currentFailures() = 0;
    test.function();
    printf("%s %s\n", currentFailures() == 0 ? "PASS" : "FAIL", test.name);
    (currentFailures() == 0 ? passed : failed) += 1;
  }
  printf("%d passed, %d failed\n", passed, failed);
  return (failed == 0 && passed > 0) ? 0 : 1;
}

inline int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "--list") == 0) {
    for (int i = 0; i < registeredCount(); ++i) printf("%s\n", registry()[i].name);
    return 0;
  }
  return runTests(argc > 1 ? argv[1] : nullptr);
}

}  // namespace testing

#define TEST(name)                                                  \
  static void name();                                               \
  static const testing::Registrar name##_registrar(#name, &name);   \
  static void name()

#define CHECK(expression)                                                    \
  do {                                                                       \
    if (!(expression)) testing::reportFailure(__FILE__, __LINE__, #expression); \
  } while (0)

#define CHECK_STR(actual, expected) CHECK(strcmp((actual), (expected)) == 0)
