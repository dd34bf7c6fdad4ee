// Dates and times as the node shows them. Saudi Arabia keeps UTC+3 all year
// (Asia/Riyadh has no daylight saving time), so local dates need no tz database.
#pragma once

#include <cstdint>
#include <string>

namespace tawasul::node {

inline constexpr std::int64_t kRiyadhOffsetMs = 3LL * 3600 * 1000;
inline constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;

// "2026-11-28T11:42:58Z"
std::string iso8601_utc(std::int64_t ms);
// The Gregorian year in Asia/Riyadh at `ms`.
int riyadh_year(std::int64_t ms);

}  // namespace tawasul::node
