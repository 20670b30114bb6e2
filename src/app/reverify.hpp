#pragma once
// `leadhook reverify`: replays quarantined requests through the live request
// path, judged as of their arrival, against the current keys. Importing is
// idempotent: the token ledger answers a second import as a duplicate.
#include "app/webhook_handler.hpp"
#include "storage/quarantine.hpp"

#include <cstdio>

namespace leadhook::app {

struct ReverifyCounts {
    int imported = 0;
    int duplicate = 0;
    int skipped = 0;
};

/// One line per quarantined request to `out`. Imported and duplicate rows
/// leave the quarantine; the rest stay, with the reason printed. Stops at
/// the first database failure, leaving everything not yet handled in place.
Expected<ReverifyCounts, storage::StoreError>
reverify(storage::QuarantineLog& quarantine, const WebhookHandler& handler, std::FILE* out);

} // namespace leadhook::app
