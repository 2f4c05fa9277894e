#include "hub/amqp/eventhub.hpp"

#include <algorithm>
#include <charconv>
#include <deque>
#include <map>
#include <vector>

#include <proton/annotation_key.hpp>
#include <proton/codec/decoder.hpp>
#include <proton/codec/map.hpp>
#include <proton/codec/vector.hpp>
#include <proton/message_id.hpp>
#include <proton/scalar.hpp>
#include <proton/symbol.hpp>
#include <proton/timestamp.hpp>
#include <proton/types.hpp>
#include <proton/value.hpp>

namespace hub::amqp {

namespace {

constexpr std::string_view kSelectorKey = "apache.org:selector-filter:string";
constexpr uint64_t kSelectorDescriptor = 0x468c00000004ULL;

proton::message status_reply(const proton::message& request, int code, const std::string& text) {
    proton::message reply;
    reply.to(request.reply_to());
    reply.correlation_id(request.id());
    reply.properties().put("status-code", static_cast<int32_t>(code));
    reply.properties().put("status-description", text);
    return reply;
}


std::map<std::string, proton::value> partition_properties(const D2cLog& log, uint32_t p,
                                                          const std::string& entity) {
    // Retention may have dropped the oldest events: the beginning is the first retained one.
    const uint64_t end = log.end_sequence_number(p);
    const int64_t last = static_cast<int64_t>(end) - 1;
    const StoredEvent* newest = end == 0 ? nullptr : log.event_at(p, end - 1);
    const bool empty = log.first_sequence_number(p) == end;
    return {
        {"name", entity},
        {"type", std::string("com.microsoft:partition")},
        {"partition", std::to_string(p)},
        {"begin_sequence_number",
         end == 0 ? int64_t{-1} : static_cast<int64_t>(log.first_sequence_number(p))},
        {"last_enqueued_sequence_number", last},
        {"last_enqueued_offset", std::to_string(last)},
        {"last_enqueued_time_utc", proton::timestamp(newest ? newest->enqueued_time_ms : 0)},
        {"is_partition_empty", empty},
    };
}

}  // namespace

std::string string_property(const proton::message& m, const std::string& key) {
    if (!m.properties().exists(key)) return {};
    const proton::scalar v = m.properties().get(key);
    return v.type() == proton::STRING ? proton::get<std::string>(v) : proton::to_string(v);
}

std::optional<PartitionAddress> parse_partition_address(std::string_view a) {
    if (const size_t scheme = a.find("://"); scheme != std::string_view::npos) {
        a.remove_prefix(scheme + 3);
        const size_t slash = a.find('/');
        if (slash == std::string_view::npos) return std::nullopt;
        a.remove_prefix(slash);
    }
    if (a.starts_with("/")) a.remove_prefix(1);
    const size_t cg = a.find("/ConsumerGroups/");
    const size_t parts = a.find("/Partitions/");
    if (cg == std::string_view::npos || parts == std::string_view::npos || parts < cg || cg == 0) {
        return std::nullopt;
    }
    PartitionAddress out;
    out.entity = std::string(a.substr(0, cg));
    out.consumer_group = std::string(a.substr(cg + 16, parts - cg - 16));
    const std::string_view number = a.substr(parts + 12);
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), out.partition);
    if (ec != std::errc() || end != number.data() + number.size() || out.consumer_group.empty()) {
        return std::nullopt;
    }
    return out;
}

namespace {

// The filter's value is the described type (descriptor, expression string).
std::optional<std::string> described_selector(const proton::value& value) {
    proton::codec::decoder decoder(value);
    proton::codec::start start;
    decoder >> start;
    proton::value descriptor;
    decoder >> descriptor;
    const bool ours =
        (descriptor.type() == proton::SYMBOL &&
         proton::get<proton::symbol>(descriptor) == kSelectorKey) ||
        (descriptor.type() == proton::ULONG && proton::get<uint64_t>(descriptor) == kSelectorDescriptor);
    if (!ours) return std::nullopt;
    std::string expression;
    decoder >> expression;
    return expression;
}

}  // namespace

Result<std::string> selector_expression(const proton::source::filter_map& filters) {
    if (filters.empty()) return std::string();
    try {
        std::map<proton::symbol, proton::value> entries;
        proton::get(filters.value(), entries);
        for (const auto& [key, value] : entries) {
            if (std::optional<std::string> expression = described_selector(value)) {
                return *expression;
            }
        }
    } catch (const std::exception& e) {  // Proton throws on values of another shape
        return Status(Code::invalid_argument, std::string("bad link filter: ") + e.what());
    }
    return std::string();
}

proton::message event_message(const StoredEvent& e) {
    proton::message m;
    if (!e.message.message_id.empty()) m.id(e.message.message_id);
    proton::binary body;
    body.assign(e.message.body.begin(), e.message.body.end());
    m.body(body);
    m.inferred(true);  // a data section: the SDKs read body.content (reference §1.6)
    auto& a = m.message_annotations();
    a.put(proton::symbol("x-opt-sequence-number"), static_cast<int64_t>(e.sequence_number));
    a.put(proton::symbol("x-opt-offset"), std::to_string(e.sequence_number));
    a.put(proton::symbol("x-opt-enqueued-time"), proton::timestamp(e.enqueued_time_ms));
    a.put(proton::symbol("iothub-connection-device-id"), e.message.device_id);
    if (!e.message.generation_id.empty()) {
        a.put(proton::symbol("iothub-connection-auth-generation-id"), e.message.generation_id);
    }
    a.put(proton::symbol("iothub-connection-auth-method"),
          std::string(R"({"scope":"device","type":"sas","issuer":"iothub"})"));
    a.put(proton::symbol("iothub-enqueuedtime"), proton::timestamp(e.enqueued_time_ms));
    a.put(proton::symbol("iothub-message-source"), std::string("Telemetry"));
    for (const auto& [key, value] : e.message.properties) {
        m.properties().put(key, value);
    }
    return m;
}

proton::message management_reply(const proton::message& request, const D2cLog& log,
                                  const std::string& entity, int64_t created_ms) {
    const std::string operation = string_property(request, "operation");
    const std::string type = string_property(request, "type");
    const std::string name = string_property(request, "name");
    if (operation != "READ") return status_reply(request, 400, "unsupported operation " + operation);
    if (!name.empty() && name != entity) return status_reply(request, 404, "no entity " + name);
    proton::message reply = status_reply(request, 200, "OK");
    if (type == "com.microsoft:eventhub") {
        std::vector<std::string> ids;
        for (uint32_t p = 0; p < log.partition_count(); ++p) ids.push_back(std::to_string(p));
        reply.body(std::map<std::string, proton::value>{
            {"name", entity},
            {"type", std::string("com.microsoft:eventhub")},
            {"created_at", proton::timestamp(created_ms)},
            {"partition_count", static_cast<int32_t>(log.partition_count())},
            {"partition_ids", ids},
        });
        return reply;
    }
    if (type == "com.microsoft:partition") {
        uint32_t p = 0;
        const std::string text = string_property(request, "partition");
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), p);
        if (ec != std::errc() || end != text.data() + text.size() || p >= log.partition_count()) {
            return status_reply(request, 404, "no partition '" + text + "'");
        }
        reply.body(partition_properties(log, p, entity));
        return reply;
    }
    return status_reply(request, 400, "unsupported type " + type);
}

PartitionReader::PartitionReader(const D2cLog& log, uint32_t partition, const StartPosition& start)
    : log_(log), partition_(partition) {
    const uint64_t first = log.first_sequence_number(partition);
    switch (start.kind) {
        case StartPosition::Kind::earliest: next_ = first; break;
        case StartPosition::Kind::latest: next_ = log.end_sequence_number(partition); break;
        case StartPosition::Kind::sequence_number:
            next_ = static_cast<uint64_t>(start.value) + (start.inclusive ? 0 : 1);
            break;
        case StartPosition::Kind::enqueued_time:
            next_ = log.first_enqueued_from(partition, start.value, start.inclusive);
            break;
    }
    next_ = std::max(next_, first);  // a position retention already dropped: the first kept
}

size_t PartitionReader::pump(proton::sender& link) {
    // A reader behind retention (positioned before the first retained event, or left behind
    // while it had no credit) resumes at the first retained event.
    next_ = std::max(next_, log_.first_sequence_number(partition_));
    size_t sent = 0;
    while (link.active() && link.credit() > 0) {
        const StoredEvent* event = log_.event_at(partition_, next_);
        if (event == nullptr) {
            break;
        }
        link.send(event_message(*event));
        ++next_;
        ++sent;
    }
    return sent;
}

}  // namespace hub::amqp
