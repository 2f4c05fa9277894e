#include "hub/core/registry.hpp"

#include <cctype>

#include <nlohmann/json.hpp>

#include "hub/auth/sas.hpp"
#include "hub/core/device_json.hpp"
#include "hub/core/json_text.hpp"

namespace hub {

namespace {

using nlohmann::json;

constexpr const char* kLogName = "registry.log";

bool is_thumbprint(const std::string& t) {
    if (t.size() != 40 && t.size() != 64) return false;
    for (char c : t) {
        if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    }
    return true;
}

std::string strip_quotes(std::string_view s) {
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
    return std::string(s);
}

Status record_error(const std::string& what) {
    return Status(Code::corruption, std::string(kLogName) + ": " + what);
}

// A put record holds the durable fields only: live state (connection, activity, C2D count) is
// not replayed, and leaving it out makes a record's size a function of what is durable.
json put_record(const Device& device) {
    Device d = device;
    d.connected = false;
    d.connection_state_updated_ms = 0;
    d.last_activity_ms = 0;
    d.cloud_to_device_message_count = 0;
    return json{{"op", "put"},
                {"version", d.version},
                {"statusUpdatedMs", d.status_updated_ms},
                {"device", device_to_json(d)}};
}

json policy_record(const SharedAccessPolicy& p) {
    return json{{"op", "policy"},
                {"name", p.name},
                {"primaryKey", p.primary_key},
                {"secondaryKey", p.secondary_key},
                {"rights", p.rights}};
}

uint64_t bytes_as_record(const json& record) {
    return store::record_bytes(json_text(record).size());
}

ByteView as_bytes(const std::string& text) {
    return ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

}  // namespace

Status check_symmetric_key(const std::string& key, const char* which) {
    Result<Bytes> raw = auth::base64_decode(key);
    if (!raw.ok() || raw->size() < kSymmetricKeyBytesMin || raw->size() > kSymmetricKeyBytesMax) {
        return Status(Code::invalid_argument,
                      std::string(which) + " must be base64 of 16 to 64 bytes");
    }
    return Status();
}

bool is_valid_device_id(std::string_view id) {
    if (id.empty() || id.size() > kDeviceIdBytesMax) return false;
    static constexpr std::string_view kExtra = "-.+%_#*?!(),=@$'";
    for (char c : id) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && kExtra.find(c) == kExtra.npos) {
            return false;
        }
    }
    return true;
}

std::string generate_device_key(Random& random) {
    Bytes key(32);
    for (size_t i = 0; i < key.size(); i += 8) {
        const uint64_t word = random.next_u64();
        for (size_t k = 0; k < 8; ++k) key[i + k] = static_cast<uint8_t>(word >> (8 * k));
    }
    return auth::base64_encode(key);
}

std::string Device::etag() const {
    Bytes be(8);
    for (int i = 0; i < 8; ++i) be[7 - i] = static_cast<uint8_t>(version >> (8 * i));
    return auth::base64_encode(be);
}

Registry::Registry(Env& env, store::CompactionPolicy policy)
    : env_(env),
      policy_(policy),
      log_(std::make_unique<store::RecordLog>(env.disk(), kLogName, env.random())) {}

Result<std::unique_ptr<Registry>> Registry::open(Env& env, store::CompactionPolicy policy) {
    std::unique_ptr<Registry> registry(new Registry(env, policy));
    Status s = store::remove_stray_compaction(env.disk(), kLogName);
    if (!s.ok()) return s;
    Result<std::vector<Bytes>> records = registry->log_->recover();
    if (!records.ok()) return records.status();
    for (const Bytes& record : *records) {
        s = registry->replay(record);
        if (!s.ok()) return s;
    }
    registry->log_bytes_ = registry->log_->size_bytes();  // the file's size, header included
    registry->live_bytes_ = registry->live_record_bytes();
    s = registry->create_default_policies();
    if (!s.ok()) return s;
    env.trace("registry.recovered", "devices=" + std::to_string(registry->devices_.size()));
    registry->maybe_compact();  // an old, long log shrinks at once
    if (!registry->log_failure_.ok()) return registry->log_failure_;
    return registry;
}

uint64_t Registry::live_record_bytes() const {
    uint64_t n = 0;
    for (const auto& [name, p] : policies_) n += bytes_as_record(policy_record(p));
    for (const auto& [id, d] : devices_) n += bytes_as_record(put_record(d));
    return n;
}

Status Registry::replay(const Bytes& record) {
    const json j = json::parse(record.begin(), record.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("op")) {
        return record_error("record is not a JSON object with an op");
    }
    const std::string op = j.value("op", "");
    if (op == "put") {
        Result<Device> d = device_from_json(j.value("device", json::object()));
        if (!d.ok()) return record_error(d.status().message());
        d->version = j.value("version", uint64_t{0});
        d->status_updated_ms = j.value("statusUpdatedMs", int64_t{0});
        std::string id = d->id;
        devices_[id] = std::move(*d);
    } else if (op == "remove") {
        devices_.erase(j.value("id", ""));
    } else if (op == "policy") {
        SharedAccessPolicy p{j.value("name", ""), j.value("primaryKey", ""),
                             j.value("secondaryKey", ""), j.value("rights", 0u)};
        std::string name = p.name;
        policies_[name] = std::move(p);
    } else {
        return record_error("unknown op '" + op + "'");
    }
    return Status();
}

Status Registry::log_record(const nlohmann::json& record) {
    if (!log_failure_.ok()) return log_failure_;
    const std::string text = json_text(record);
    Status s = log_->append(as_bytes(text));
    if (s.ok()) log_bytes_ = log_->size_bytes();
    return s;
}

Status Registry::log_put(const Device& d) { return log_record(put_record(d)); }

Status Registry::log_remove(std::string_view id) {
    return log_record(json{{"op", "remove"}, {"id", id}});
}

Status Registry::log_policy(const SharedAccessPolicy& p) { return log_record(policy_record(p)); }

Status Registry::create_default_policies() {
    const std::pair<const char*, uint32_t> defaults[] = {
        {"iothubowner", kRegistryRead | kRegistryWrite | kServiceConnect | kDeviceConnect},
        {"service", kServiceConnect},
        {"device", kDeviceConnect},
        {"registryRead", kRegistryRead},
        {"registryReadWrite", kRegistryRead | kRegistryWrite},
    };
    // Each missing one: a crash during the first open may have kept only some of them.
    bool created = false;
    for (const auto& [name, rights] : defaults) {
        if (policies_.contains(name)) continue;
        SharedAccessPolicy p{name, generate_device_key(env_.random()),
                             generate_device_key(env_.random()), rights};
        Status s = log_policy(p);
        if (!s.ok()) return s;
        live_bytes_ += bytes_as_record(policy_record(p));
        policies_[p.name] = std::move(p);
        created = true;
    }
    return created ? log_->sync() : Status();
}

Status Registry::set_policy_keys(std::string_view name, const std::string& primary_key,
                                 const std::string& secondary_key) {
    auto it = policies_.find(name);
    if (it == policies_.end()) {
        return Status(Code::not_found, "no shared access policy '" + std::string(name) + "'");
    }
    for (const auto& [key, which] : {std::pair{&primary_key, "primaryKey"},
                                     std::pair{&secondary_key, "secondaryKey"}}) {
        if (key->empty() && key == &secondary_key) continue;
        if (Status s = check_symmetric_key(*key, which); !s.ok()) return s;
    }
    SharedAccessPolicy updated = it->second;
    updated.primary_key = primary_key;
    if (!secondary_key.empty()) updated.secondary_key = secondary_key;
    if (updated.primary_key == it->second.primary_key &&
        updated.secondary_key == it->second.secondary_key) {
        return Status();
    }
    Status s = log_policy(updated);
    if (s.ok()) s = log_->sync();
    if (!s.ok()) return s;
    live_bytes_ -= bytes_as_record(policy_record(it->second));
    live_bytes_ += bytes_as_record(policy_record(updated));
    it->second = std::move(updated);
    env_.trace("registry.policy-keys", std::string(name));
    maybe_compact();
    return Status();
}

void Registry::maybe_compact() {
    if (!log_failure_.ok() || log_bytes_ < compaction_retry_bytes_ ||
        !store::compaction_due(policy_, log_bytes_, live_bytes_)) {
        return;
    }
    Status s = compact();
    if (!s.ok()) env_.trace("registry.compaction_failed", s.to_string());
}

// Writes the live state as policy and put records (what replay reads) and swaps it in.
Status Registry::compact() {
    const uint64_t old_bytes = log_bytes_;
    store::CompactionWriter writer(env_.disk(), kLogName, store::successor_salt(log_->salt()));
    Status s;
    for (auto it = policies_.begin(); s.ok() && it != policies_.end(); ++it) {
        s = writer.add(as_bytes(json_text(policy_record(it->second))));
    }
    for (auto it = devices_.begin(); s.ok() && it != devices_.end(); ++it) {
        s = writer.add(as_bytes(json_text(put_record(it->second))));
    }
    Result<std::unique_ptr<store::RecordLog>> log =
        s.ok() ? writer.finish() : Result<std::unique_ptr<store::RecordLog>>(s);
    if (!log.ok()) {
        if (writer.replaced()) {
            log_failure_ = Status(Code::unavailable, std::string(kLogName) +
                                                         ": compaction failed (" +
                                                         log.status().to_string() +
                                                         "); reopen the registry");
        } else {
            compaction_retry_bytes_ = log_bytes_ + policy_.floor_bytes;
        }
        return log.status();
    }
    HUB_ASSERT(writer.bytes() == live_bytes_);
    log_ = std::move(*log);
    log_bytes_ = log_->size_bytes();  // the records plus the file header
    compaction_retry_bytes_ = 0;
    ++compactions_;
    env_.trace("registry.compacted", std::to_string(old_bytes) + " -> " +
                                         std::to_string(log_bytes_) + " bytes");
    return Status();
}

std::string Registry::new_generation_id() {
    // Azure's generation ids are 18-digit decimal numbers.
    return std::to_string(100'000'000'000'000'000ULL +
                          env_.random().uniform(900'000'000'000'000'000ULL));
}

Status Registry::validate(Device& d) {
    if (!is_valid_device_id(d.id)) {
        return Status(Code::invalid_argument, "invalid device id '" + d.id +
                                                  "' (1-128 chars: letters, digits, -.+%_#*?!(),=@$')");
    }
    if (d.status_reason.size() > kStatusReasonBytesMax) {
        return Status(Code::invalid_argument, "statusReason is longer than 128 characters");
    }
    if (d.auth_type == AuthType::sas) {
        if (d.primary_key.empty() && d.secondary_key.empty()) {
            d.primary_key = generate_device_key(env_.random());
            d.secondary_key = generate_device_key(env_.random());
        }
        Status s = check_symmetric_key(d.primary_key, "primaryKey");
        if (s.ok() && !d.secondary_key.empty()) s = check_symmetric_key(d.secondary_key, "secondaryKey");
        return s;
    }
    if (d.auth_type == AuthType::self_signed &&
        (!is_thumbprint(d.primary_thumbprint) ||
         (!d.secondary_thumbprint.empty() && !is_thumbprint(d.secondary_thumbprint)))) {
        return Status(Code::invalid_argument, "x509 thumbprints must be 40 or 64 hex digits");
    }
    d.primary_key.clear();
    d.secondary_key.clear();
    return Status();
}

Device* Registry::find_mutable(std::string_view id) {
    auto it = devices_.find(id);
    return it == devices_.end() ? nullptr : &it->second;
}

const Device* Registry::find(std::string_view id) const {
    auto it = devices_.find(id);
    return it == devices_.end() ? nullptr : &it->second;
}

Result<Device> Registry::apply_create(Device d) {
    if (devices_.size() >= kDevicesMax) {
        return Status(Code::resource_exhausted, "the registry holds 1,000,000 devices already");
    }
    Status s = validate(d);
    if (!s.ok()) return s;
    if (devices_.contains(d.id)) {
        return Status(Code::already_exists, "DeviceAlreadyExists: " + d.id);
    }
    d.generation_id = new_generation_id();
    d.version = 1;
    d.status_updated_ms = env_.utc_now_ms();
    d.connected = false;
    d.last_activity_ms = d.connection_state_updated_ms = 0;
    d.cloud_to_device_message_count = 0;
    s = log_put(d);
    if (!s.ok()) return s;
    live_bytes_ += bytes_as_record(put_record(d));
    std::string id = d.id;
    devices_[id] = d;
    return d;
}

Result<Device> Registry::create(Device device) {
    Result<Device> d = apply_create(std::move(device));
    if (!d.ok()) return d;
    Status s = log_->sync();
    if (!s.ok()) return s;
    env_.trace("registry.create", d->id);
    maybe_compact();
    return d;
}

Result<Device> Registry::apply_update(Device d, std::string_view if_match) {
    Device* current = find_mutable(d.id);
    if (current == nullptr) return Status(Code::not_found, "DeviceNotFound: " + d.id);
    const std::string expected = strip_quotes(if_match);
    if (!expected.empty() && expected != "*" && expected != current->etag()) {
        return Status(Code::failed_precondition, "PreconditionFailed: etag mismatch for " + d.id);
    }
    if (d.auth_type == AuthType::sas && d.primary_key.empty() && d.secondary_key.empty()) {
        d.primary_key = current->primary_key;  // an update without keys keeps them
        d.secondary_key = current->secondary_key;
    }
    Status s = validate(d);
    if (!s.ok()) return s;
    d.generation_id = current->generation_id;
    d.version = current->version + 1;
    d.status_updated_ms = d.status != current->status ? env_.utc_now_ms()
                                                      : current->status_updated_ms;
    d.connected = current->connected;
    d.connection_state_updated_ms = current->connection_state_updated_ms;
    d.last_activity_ms = current->last_activity_ms;
    d.cloud_to_device_message_count = current->cloud_to_device_message_count;
    s = log_put(d);
    if (!s.ok()) return s;
    live_bytes_ += bytes_as_record(put_record(d));
    live_bytes_ -= bytes_as_record(put_record(*current));
    *current = d;
    return d;
}

Result<Device> Registry::update(Device device, std::string_view if_match) {
    Result<Device> d = apply_update(std::move(device), if_match);
    if (!d.ok()) return d;
    Status s = log_->sync();
    if (!s.ok()) return s;
    env_.trace("registry.update", d->id + " etag=" + d->etag());
    maybe_compact();
    return d;
}

Status Registry::apply_remove(std::string_view id, std::string_view if_match) {
    const Device* current = find(id);
    if (current == nullptr) return Status(Code::not_found, "DeviceNotFound: " + std::string(id));
    const std::string expected = strip_quotes(if_match);
    if (!expected.empty() && expected != "*" && expected != current->etag()) {
        return Status(Code::failed_precondition,
                      "PreconditionFailed: etag mismatch for " + std::string(id));
    }
    Status s = log_remove(id);
    if (!s.ok()) return s;
    live_bytes_ -= bytes_as_record(put_record(*current));
    devices_.erase(devices_.find(id));
    return Status();
}

Status Registry::remove(std::string_view id, std::string_view if_match) {
    Status s = apply_remove(id, if_match);
    if (!s.ok()) return s;
    env_.trace("registry.remove", id);
    s = log_->sync();
    if (s.ok()) maybe_compact();
    return s;
}

std::vector<const Device*> Registry::list(std::string_view after_id, size_t max) const {
    std::vector<const Device*> page;
    max = std::min(max, kListPageMax);
    for (auto it = after_id.empty() ? devices_.begin() : devices_.upper_bound(after_id);
         it != devices_.end() && page.size() < max; ++it) {
        page.push_back(&it->second);
    }
    return page;
}

Result<std::vector<Registry::ImportError>> Registry::import_devices(std::vector<ImportItem> items) {
    if (!log_failure_.ok()) return log_failure_;
    std::vector<ImportError> errors;
    for (ImportItem& item : items) {
        const std::string id = item.device.id;
        Status s;
        if (item.mode == ImportMode::remove) {
            s = apply_remove(id, "*");
        } else if (item.mode == ImportMode::create || find(id) == nullptr) {
            s = apply_create(std::move(item.device)).status();
        } else {
            s = apply_update(std::move(item.device), "*").status();
        }
        if (!s.ok()) errors.push_back({id, s});
    }
    Status s = log_->sync();
    if (!s.ok()) return s;
    maybe_compact();
    env_.trace("registry.import", "items=" + std::to_string(items.size()) +
                                      " errors=" + std::to_string(errors.size()));
    return errors;
}

std::vector<Device> Registry::export_devices() const {
    std::vector<Device> out;
    out.reserve(devices_.size());
    for (const auto& [id, device] : devices_) out.push_back(device);
    return out;
}

const SharedAccessPolicy* Registry::policy(std::string_view name) const {
    auto it = policies_.find(name);
    return it == policies_.end() ? nullptr : &it->second;
}

void Registry::set_connected(std::string_view id, bool connected, int64_t now_ms) {
    if (Device* d = find_mutable(id); d != nullptr && d->connected != connected) {
        d->connected = connected;
        d->connection_state_updated_ms = now_ms;
    }
}

void Registry::touch(std::string_view id, int64_t now_ms) {
    if (Device* d = find_mutable(id)) d->last_activity_ms = now_ms;
}

}  // namespace hub
