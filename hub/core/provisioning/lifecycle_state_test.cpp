#include "hub/core/provisioning/lifecycle_state.hpp"

#include <map>
#include <tuple>

#include <gtest/gtest.h>

namespace hub::provisioning {
namespace {

using S = LifecycleState;
using E = LifecycleEvent;

// The transitions the header documents, written out independently of the table.
const std::map<std::pair<S, E>, S>& documented() {
    static const std::map<std::pair<S, E>, S> kDocumented = {
        {{S::provisioned, E::assign}, S::bootstrapped},
        {{S::provisioned, E::deprovision}, S::deprovisioned},
        {{S::bootstrapped, E::assign}, S::bootstrapped},
        {{S::bootstrapped, E::activate}, S::activated},
        {{S::bootstrapped, E::deprovision}, S::deprovisioned},
        {{S::activated, E::assign}, S::activated},
        {{S::activated, E::deactivate}, S::deactivated},
        {{S::activated, E::deprovision}, S::deprovisioned},
        {{S::deactivated, E::reactivate}, S::activated},
        {{S::deactivated, E::deprovision}, S::deprovisioned},
        {{S::deprovisioned, E::enroll}, S::provisioned},
    };
    return kDocumented;
}

TEST(LifecycleTable, EveryPairIsEitherDocumentedOrRefused) {
    size_t legal = 0;
    for (S s : kAllLifecycleStates) {
        for (E e : kAllLifecycleEvents) {
            auto it = documented().find({s, e});
            Result<LifecycleState> next = lifecycle_next(s, e, "dev-1");
            if (it != documented().end()) {
                ++legal;
                ASSERT_TRUE(next.ok())
                    << lifecycle_state_name(s) << " x " << lifecycle_event_name(e);
                EXPECT_EQ(*next, it->second);
                EXPECT_EQ(lifecycle_target(s, e), it->second);
            } else {
                ASSERT_FALSE(next.ok())
                    << lifecycle_state_name(s) << " x " << lifecycle_event_name(e);
                EXPECT_EQ(next.status().code(), Code::failed_precondition);
                EXPECT_EQ(lifecycle_target(s, e), std::nullopt);
                const std::string expected_prefix =
                    std::string("cannot ") + lifecycle_event_name(e);
                EXPECT_EQ(next.status().message().rfind(expected_prefix, 0), 0u)
                    << next.status().message();
                EXPECT_NE(next.status().message().find("'dev-1'"), std::string::npos);
            }
        }
    }
    EXPECT_EQ(legal, documented().size());
    EXPECT_EQ(lifecycle_transition_count(), documented().size());
}

TEST(LifecycleTable, RefusalsReadWell) {
    EXPECT_EQ(lifecycle_next(S::deprovisioned, E::activate, "x").status().message(),
              "cannot activate a deprovisioned device 'x'");
    EXPECT_EQ(lifecycle_next(S::activated, E::reactivate, "x").status().message(),
              "cannot reactivate an activated device 'x'");
    EXPECT_EQ(lifecycle_next(S::deactivated, E::assign, "x").status().message(),
              "cannot assign a deactivated device 'x'");
}

TEST(LifecycleTable, NamesRoundTrip) {
    for (S s : kAllLifecycleStates) {
        EXPECT_EQ(lifecycle_state_from_name(lifecycle_state_name(s)), s);
    }
    for (E e : kAllLifecycleEvents) {
        EXPECT_EQ(lifecycle_event_from_name(lifecycle_event_name(e)), e);
    }
    EXPECT_EQ(lifecycle_state_from_name("limbo"), std::nullopt);
    EXPECT_EQ(lifecycle_event_from_name("explode"), std::nullopt);
}

}  // namespace
}  // namespace hub::provisioning
