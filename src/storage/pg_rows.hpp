#pragma once
// The leads and lead_email_events rows as libpq parameters and results: the
// column lists, their mapping to LeadState and Event, and the lead lookup.
#include "app/lead_state.hpp"
#include "storage/event_store.hpp"
#include "storage/pg.hpp"

#include <array>
#include <cstdint>
#include <optional>

namespace leadhook::storage {

PgParam text(std::string_view value);
PgParam number(long long value);
/// bytea in PostgreSQL's hex input format.
PgParam bytea(std::string_view bytes);

app::LeadState read_lead(const PgResult& r);
std::array<PgParam, 25> lead_params(std::int64_t id, const app::LeadState& s);
std::array<PgParam, 33> event_params(const EventRecord& r, std::optional<std::int64_t> lead);

/// The lead this event is about, locked FOR UPDATE: by the follow-up email's
/// message id, else by address. nullopt when none matches.
Expected<std::optional<PgResult>, StoreError> find_lead(PgConnection& conn,
                                                        const mailgun::Event& event);

extern const char* const update_lead;

} // namespace leadhook::storage
