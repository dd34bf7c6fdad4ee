// Dates and times as the node shows them. Saudi Arabia keeps UTC+3 all year
// (Asia/Riyadh has no daylight saving time), so local dates need no tz database.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tawasul::node {

inline constexpr std::int64_t kRiyadhOffsetMs = 3LL * 3600 * 1000;
inline constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;

// "2026-11-28T11:42:58Z"
std::string iso8601_utc(std::int64_t ms);
// The instant of "YYYY-MM-DDTHH:MM:SS" with optional ".f" (up to 3 digits)
// and a zone "Z" or "+HH:MM"/"-HH:MM" (e.g. "2026-12-10T09:00:00+03:00"),
// years 1900..2100; nullopt for anything else (a date that does not exist,
// a missing zone).
std::optional<std::int64_t> parse_iso8601(std::string_view text);
// The Gregorian year in Asia/Riyadh at `ms`.
int riyadh_year(std::int64_t ms);

}  // namespace tawasul::node
