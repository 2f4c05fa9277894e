// SaslServer: the hub's SASL mechanisms on one Proton transport, as a Proton SASL plug-in.
//
// Proton's built-in server SASL (Debian's libqpid-proton has no Cyrus) accepts only ANONYMOUS
// and EXTERNAL and never shows the application a PLAIN password. The hub needs PLAIN (device,
// service and DPS logins with a SAS token as the password, reference §1.2) and MSSBCBS (the .NET
// clients), so it installs its own implementation on each server transport through
// proton/sasl_plugin.h. The plug-in offers kMechanisms, hands the peer's chosen mechanism and
// initial response to `decide`, and posts the outcome: ok (0) or auth (1), after which Proton
// closes the connection with amqp:unauthorized-access. Challenges are never sent.
// A peer that sends no SASL header at all (the Azure Node SDKs) never reaches the plug-in.
//
// State: none global. pnx_sasl_set_implementation() puts this object in the transport's own
// plug-in context; the implementation table is a constant. Proton keeps the user name pointer
// we give it, so the string lives here.
//
// Ownership: the owner keeps the SaslServer alive as long as the transport it was installed
// on (declare it before the DriverPump). `decide` runs inside the driver's read_done(), must not
// throw (a throw counts as a refusal) and must not touch the connection.
//
// Example:
//   SaslServer sasl([](const SaslInit& init) { return SaslVerdict{true, "anonymous"}; });
//   pump.accept(options_with_sasl_enabled);     // creates the transport's SASL layer
//   sasl.install(pump.transport());             // before any byte is read
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <proton/transport.hpp>

namespace hub::amqp {

struct SaslInit {
    std::string_view mechanism;
    std::string_view response;  // the initial response (PLAIN: authzid NUL authcid NUL password)
};

struct SaslVerdict {
    bool ok = false;
    std::string user;  // the authenticated name Proton reports (ignored when refused)
};

class SaslServer {
  public:
    // Offered to the peer, and the allowed list given to Proton (it refuses the rest itself).
    static constexpr const char* kMechanisms = "ANONYMOUS PLAIN EXTERNAL MSSBCBS";

    using Decide = std::function<SaslVerdict(const SaslInit&)>;
    explicit SaslServer(Decide decide) : decide_(std::move(decide)) {}
    SaslServer(const SaslServer&) = delete;
    SaslServer& operator=(const SaslServer&) = delete;

    // REQUIRES: a server transport with SASL enabled, not yet given any input.
    void install(const proton::transport& transport);

    // The mechanism the peer chose ("" before its sasl-init) and whether it was accepted.
    const std::string& mechanism() const { return mechanism_; }
    bool succeeded() const { return succeeded_; }

  private:
    friend struct SaslCallbacks;
    SaslVerdict decide(std::string_view mechanism, std::string_view response);

    Decide decide_;
    std::string mechanism_;
    std::string user_;
    bool succeeded_ = false;
};

}  // namespace hub::amqp
