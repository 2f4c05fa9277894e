// proton_raw: the Proton-C object behind a Proton-C++ handle, for the few C-only APIs we need.
//
// Proton-C++ wraps each C object (pn_transport_t, pn_delivery_t) but publishes no way back:
// its `unwrap()` lives in a private source header. Two things the hub needs exist only in C:
//  - the SASL plug-in API (proton/sasl_plugin.h), installed per transport;
//  - the error condition on a delivery's disposition (a rejected D2C transfer tells the device
//    why: amqp:link:message-size-exceeded, amqp:unauthorized-access, ...).
// The wrappers keep the C pointer behind the protected `internal::object<T>::pn_object()`. A
// class derived from the base may name that member to form a pointer-to-member ([class.protected]
// allows it), and the pointer then applies to any object of the base: standard C++, no layout
// assumption, no cast. The returned pointer is borrowed: it lives as long as the handle's object.
//
// Example:
//   pn_transport_t* t = raw(driver.transport());
//   pnx_sasl_set_implementation(t, &impl, context);
#pragma once

#include <proton/delivery.h>
#include <proton/internal/object.hpp>
#include <proton/transfer.hpp>
#include <proton/transport.hpp>

namespace hub::amqp {

namespace detail {
template <class T>
struct RawAccess : proton::internal::object<T> {
    static T* get(const proton::internal::object<T>& wrapper) {
        return (wrapper.*(&RawAccess::pn_object))();
    }
};
}  // namespace detail

inline pn_transport_t* raw(const proton::transport& t) {
    return detail::RawAccess<pn_transport_t>::get(t);
}

// A delivery or a tracker (both are transfers over one pn_delivery_t).
inline pn_delivery_t* raw(const proton::transfer& t) {
    return detail::RawAccess<pn_delivery_t>::get(t);
}

}  // namespace hub::amqp
