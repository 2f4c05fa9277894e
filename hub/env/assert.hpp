// HUB_ASSERT: invariant checks that stay on in every build type.
//
// Asserts catch bugs in our own code. Bad input and peer failures are not bugs: they return a
// Status instead. A failed assert prints the condition and location and aborts, so a fuzzer
// or the simulator stops at the first broken invariant.
#pragma once

#include <cstdio>
#include <cstdlib>

#define HUB_ASSERT(cond)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            std::fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                \
        }                                                                                \
    } while (0)
