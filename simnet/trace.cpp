#include "simnet/trace.hpp"

#include <cinttypes>
#include <cstdio>

#include "hub/env/random.hpp"

namespace simnet {

namespace {

uint64_t fnv1a(uint64_t h, std::string_view s) {
    for (char c : s) {
        h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ULL;
    }
    return (h ^ 0xff) * 0x100000001b3ULL;  // field separator
}

void append_json_string(std::string& out, std::string_view s) {
    out.push_back('"');
    for (char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out.push_back(c);
                }
        }
    }
    out.push_back('"');
}

}  // namespace

Trace::Trace(uint64_t seed) : hash_(hub::mix64(seed)) {}

void Trace::record(int64_t time_ns, std::string_view node, std::string_view kind,
                   std::string_view detail) {
    uint64_t h = fnv1a(0xcbf29ce484222325ULL ^ static_cast<uint64_t>(time_ns), node);
    h = fnv1a(h, kind);
    h = fnv1a(h, detail);
    hash_ = hub::mix64(hash_ ^ h);
    ++count_;
    if (sinks_.empty()) {
        return;
    }
    const TraceEvent event{count_ - 1, time_ns, std::string(node), std::string(kind),
                           std::string(detail), hash_};
    for (const TraceSink& sink : sinks_) {
        sink(event);
    }
}

std::string to_jsonl(const TraceEvent& e) {
    char head[96];
    std::snprintf(head, sizeof head, "{\"i\":%" PRIu64 ",\"t_ns\":%" PRId64 ",\"node\":", e.index,
                  e.time_ns);
    std::string out = head;
    append_json_string(out, e.node);
    out += ",\"kind\":";
    append_json_string(out, e.kind);
    out += ",\"detail\":";
    append_json_string(out, e.detail);
    char tail[48];
    std::snprintf(tail, sizeof tail, ",\"hash\":\"%016" PRIx64 "\"}", e.hash);
    return out + tail;
}

std::string to_text(const TraceEvent& e) {
    return std::to_string(e.time_ns) + " " + e.node + " " + e.kind + " " + e.detail;
}

TraceSink TraceRecorder::sink() {
    return [this](const TraceEvent& e) {
        if (events_.size() < kEventsMax) {
            events_.push_back(e);
        } else {
            truncated_ = true;
        }
    };
}

std::optional<size_t> first_divergence(const std::vector<TraceEvent>& a,
                                       const std::vector<TraceEvent>& b) {
    const size_t n = std::min(a.size(), b.size());
    for (size_t i = 0; i < n; ++i) {
        if (!(a[i] == b[i])) {
            return i;
        }
    }
    if (a.size() != b.size()) {
        return n;
    }
    return std::nullopt;
}

}  // namespace simnet
