#include "hub/amqp/sasl_server.hpp"

#include <proton/sasl_plugin.h>

#include "hub/amqp/proton_raw.hpp"
#include "hub/env/assert.hpp"

namespace hub::amqp {

// The plug-in's entry points. Proton calls them with the transport; the SaslServer is the
// transport's plug-in context.
struct SaslCallbacks {
    static SaslServer& self(pn_transport_t* t) {
        auto* server = static_cast<SaslServer*>(pnx_sasl_get_context(t));
        HUB_ASSERT(server != nullptr);
        return *server;
    }
    // The context belongs to the HubConnection, not to Proton: nothing to free.
    static void free_context(pn_transport_t*) {}
    static const char* list_mechanisms(pn_transport_t*) { return SaslServer::kMechanisms; }
    static bool init_server(pn_transport_t* t) {
        pnx_sasl_set_desired_state(t, SASL_POSTED_MECHANISMS);
        return true;
    }
    static bool init_client(pn_transport_t*) { return false; }  // server only
    static void prepare_write(pn_transport_t*) {}
    static void process_init(pn_transport_t* t, const char* mechanism, const pn_bytes_t* recv) {
        HUB_ASSERT(mechanism != nullptr && recv != nullptr);
        SaslServer& server = self(t);
        const SaslVerdict verdict = server.decide(
            mechanism, std::string_view(recv->start == nullptr ? "" : recv->start, recv->size));
        if (verdict.ok) {
            pnx_sasl_set_succeeded(t, server.user_.c_str(), nullptr);
        } else {
            pnx_sasl_set_failed(t);
        }
        pnx_sasl_set_desired_state(t, SASL_POSTED_OUTCOME);
    }
    // We never challenge, so a response is out of turn: refuse.
    static void process_response(pn_transport_t* t, const pn_bytes_t*) {
        pnx_sasl_set_failed(t);
        pnx_sasl_set_desired_state(t, SASL_POSTED_OUTCOME);
    }
    static bool process_mechanisms(pn_transport_t*, const char*) { return false; }
    static void process_challenge(pn_transport_t*, const pn_bytes_t*) {}
    static void process_outcome(pn_transport_t*, const pn_bytes_t*) {}
    // No SASL security layer: TLS protects the bytes.
    static bool can_encrypt(pn_transport_t*) { return false; }
    static ssize_t max_encrypt_size(pn_transport_t*) { return 0; }
    static ssize_t encode(pn_transport_t*, pn_bytes_t, pn_bytes_t*) { return 0; }
    static ssize_t decode(pn_transport_t*, pn_bytes_t, pn_bytes_t*) { return 0; }
};

namespace {
constexpr pnx_sasl_implementation kImplementation = {
    SaslCallbacks::free_context,       SaslCallbacks::list_mechanisms,
    SaslCallbacks::init_server,        SaslCallbacks::init_client,
    SaslCallbacks::prepare_write,      SaslCallbacks::process_init,
    SaslCallbacks::process_response,   SaslCallbacks::process_mechanisms,
    SaslCallbacks::process_challenge,  SaslCallbacks::process_outcome,
    SaslCallbacks::can_encrypt,        SaslCallbacks::max_encrypt_size,
    SaslCallbacks::encode,             SaslCallbacks::decode,
};
}  // namespace

void SaslServer::install(const proton::transport& transport) {
    pn_transport_t* t = raw(transport);
    HUB_ASSERT(t != nullptr);
    HUB_ASSERT(pnx_sasl_get_context(t) == nullptr);  // installed once, before any input
    pnx_sasl_set_implementation(t, &kImplementation, this);
    HUB_ASSERT(pnx_sasl_get_context(t) == this);
}

SaslVerdict SaslServer::decide(std::string_view mechanism, std::string_view response) {
    if (!mechanism_.empty()) {
        // A second sasl-init in the same read reaches us too: out of turn, refuse. user_ stays
        // as it was, since Proton may hold its pointer.
        succeeded_ = false;
        return SaslVerdict{};
    }
    mechanism_ = std::string(mechanism);
    SaslVerdict verdict;
    try {
        verdict = decide_(SaslInit{mechanism, response});
    } catch (const std::exception&) {
        verdict = SaslVerdict{};  // never let an exception cross Proton's C frames
    }
    succeeded_ = verdict.ok;
    user_ = verdict.ok ? verdict.user : std::string();
    return verdict;
}

}  // namespace hub::amqp
