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

// Due time for an answer within `working_days` working days: the end
// (23:59:59.999 Riyadh) of the Nth Sunday–Thursday day after the filing day.
// Provisional: holidays, working hours and the Hijri calendar come with the SLA
// calendar (issue 4), which replaces this function.
std::int64_t due_after_working_days(std::int64_t filed_ms, int working_days);

}  // namespace tawasul::node
