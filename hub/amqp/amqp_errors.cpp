#include "hub/amqp/amqp_errors.hpp"

#include <proton/condition.h>
#include <proton/disposition.h>

#include "hub/amqp/proton_raw.hpp"

namespace hub::amqp {

namespace {

const char* condition_name(Code code) {
    switch (code) {
        case Code::unauthorized: return kUnauthorizedAccess;
        case Code::not_found: return kNotFound;
        case Code::resource_exhausted: return kResourceLimitExceeded;
        case Code::invalid_argument: return kArgumentError;
        case Code::failed_precondition: return "com.microsoft:precondition-failed";
        case Code::already_exists: return "com.microsoft:device-already-exists";
        case Code::ok:
        case Code::unavailable:
        case Code::corruption:
        case Code::io_error:
        case Code::internal: break;
    }
    return kInternalError;
}

void set_outcome(pn_delivery_t* d, uint64_t state, const proton::error_condition& why) {
    HUB_ASSERT(d != nullptr);
    if (!why.empty()) {
        pn_condition_t* condition = pn_disposition_condition(pn_delivery_local(d));
        pn_condition_set_name(condition, why.name().c_str());
        pn_condition_set_description(condition, why.description().c_str());
    }
    pn_delivery_update(d, state);
    pn_delivery_settle(d);
}

}  // namespace

proton::error_condition error_for(const Status& status) {
    HUB_ASSERT(!status.ok());
    return proton::error_condition(condition_name(status.code()), status.message());
}

void reject_delivery(proton::delivery& d, const proton::error_condition& why) {
    HUB_ASSERT(!why.empty());
    set_outcome(raw(d), PN_REJECTED, why);
}

void settle_tracker(proton::tracker& t, const proton::error_condition& why) {
    set_outcome(raw(t), why.empty() ? PN_ACCEPTED : PN_REJECTED, why);
}

}  // namespace hub::amqp
