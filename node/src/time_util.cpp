#include "node/time_util.hpp"

#include <chrono>
#include <cstdio>

#include "node/clock.hpp"

namespace tawasul::node {

std::int64_t SystemClock::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {
std::chrono::year_month_day civil(std::int64_t ms) {
  using namespace std::chrono;
  auto days = floor<std::chrono::days>(sys_time<milliseconds>(milliseconds(ms)));
  return year_month_day(days);
}
}  // namespace

std::string iso8601_utc(std::int64_t ms) {
  using namespace std::chrono;
  auto tp = sys_time<milliseconds>(milliseconds(ms));
  auto day = floor<days>(tp);
  year_month_day ymd(day);
  hh_mm_ss hms(floor<seconds>(tp - day));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

int riyadh_year(std::int64_t ms) {
  return static_cast<int>(civil(ms + kRiyadhOffsetMs).year());
}

}  // namespace tawasul::node
