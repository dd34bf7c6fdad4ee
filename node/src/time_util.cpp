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

std::optional<std::int64_t> parse_iso8601(std::string_view text) {
  using namespace std::chrono;
  std::size_t at = 0;
  // `width` digits at `at`; -1 when they are not all digits.
  auto number = [&](std::size_t width) -> int {
    if (at + width > text.size()) return -1;
    int value = 0;
    for (std::size_t i = 0; i < width; ++i) {
      const char c = text[at + i];
      if (c < '0' || c > '9') return -1;
      value = value * 10 + (c - '0');
    }
    at += width;
    return value;
  };
  auto expect = [&](char c) {
    if (at >= text.size() || text[at] != c) return false;
    ++at;
    return true;
  };
  const int y = number(4);
  if (y < 1900 || y > 2100 || !expect('-')) return std::nullopt;
  const int mo = number(2);
  if (mo < 0 || !expect('-')) return std::nullopt;
  const int d = number(2);
  if (d < 0 || !expect('T')) return std::nullopt;
  const int h = number(2);
  if (h < 0 || h > 23 || !expect(':')) return std::nullopt;
  const int mi = number(2);
  if (mi < 0 || mi > 59 || !expect(':')) return std::nullopt;
  const int s = number(2);
  if (s < 0 || s > 59) return std::nullopt;
  std::int64_t ms = 0;
  if (at < text.size() && text[at] == '.') {
    ++at;
    int digits = 0;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9' && digits < 3) {
      ms = ms * 10 + (text[at] - '0');
      ++at;
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 3; ++digits) ms *= 10;
  }
  std::int64_t offset_ms = 0;
  if (expect('Z')) {
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    const int sign = text[at] == '+' ? 1 : -1;
    ++at;
    const int oh = number(2);
    if (oh < 0 || oh > 14 || !expect(':')) return std::nullopt;
    const int om = number(2);
    if (om < 0 || om > 59) return std::nullopt;
    offset_ms = sign * (oh * 3600LL + om * 60LL) * 1000;
  } else {
    return std::nullopt;
  }
  if (at != text.size()) return std::nullopt;
  const year_month_day ymd{year(y), month(static_cast<unsigned>(mo)),
                           day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return std::nullopt;
  const std::int64_t days_ms = sys_days(ymd).time_since_epoch().count() * kDayMs;
  return days_ms + (h * 3600LL + mi * 60LL + s) * 1000 + ms - offset_ms;
}

int riyadh_year(std::int64_t ms) {
  return static_cast<int>(civil(ms + kRiyadhOffsetMs).year());
}

}  // namespace tawasul::node
