#pragma once
// Reading the quarantine back, for `leadhook reverify`. Writing to it is part
// of EventStore, since live requests are quarantined by the request path.
#include "storage/event_store.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace leadhook::storage {

struct QuarantinedRequest {
    std::int64_t id = 0;
    EpochMicros received_at = 0;
    int attempts = 0;
    std::string reason;
    std::string path;
    std::string content_type;
    std::string remote_addr;
    std::string request_id;
    std::string body;
};

class QuarantineLog {
  public:
    virtual ~QuarantineLog() = default;
    /// Up to `limit` rows with id > after_id, oldest first.
    virtual Expected<std::vector<QuarantinedRequest>, StoreError> list(std::int64_t after_id,
                                                                       int limit) = 0;
    /// Forgets a row whose request has been imported (or was a duplicate).
    virtual Expected<bool, StoreError> remove(std::int64_t id) = 0;
};

} // namespace leadhook::storage
