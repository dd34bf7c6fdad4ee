// The working-calendar file parser (deploy/calendar/README.md):
// CalendarFile::parse, then the calendar built from it, alone and layered
// over the national defaults as a node loads its own file.
// Contract: nothing throws; a refusal is 400 "bad_calendar" naming the file
// (and line); an accepted file builds, and the built calendar keeps its own
// arithmetic: the working time up to a due date, added back, lands no later
// than that due date and measures the same.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_util.hpp"
#include "node/calendar.hpp"

namespace {

namespace node = tawasul::node;

constexpr std::string_view kSource = "fuzz.conf";
// 2026-03-01 06:00 UTC, 09:00 in Riyadh.
constexpr std::int64_t kNowMs = 1'772'344'800'000;

void check_refusal(const node::Error& e) {
  FUZZ_CHECK(tawasul::fuzz::is_client_error(e) && e.status == 400);
  FUZZ_CHECK(e.code == "bad_calendar");
  FUZZ_CHECK(e.message.find(kSource) != std::string::npos);
}

void check_arithmetic(const node::WorkingCalendar& calendar) {
  const std::int64_t due = calendar.add_working_days(kNowMs, 5);
  FUZZ_CHECK(due > kNowMs);
  const std::int64_t left = calendar.working_ms_between(kNowMs, due);
  FUZZ_CHECK(left > 0);
  const std::int64_t again = calendar.add_working_ms(kNowMs, left);
  FUZZ_CHECK(again <= due);
  FUZZ_CHECK(calendar.working_ms_between(kNowMs, again) == left);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto file = node::CalendarFile::parse(text, kSource);
  if (!file) {
    check_refusal(file.error());
    return 0;
  }
  auto built = node::WorkingCalendar::build(*file);
  FUZZ_CHECK(built.has_value());
  check_arithmetic(**built);
  auto layered = node::WorkingCalendar::load(
      {{node::national_calendar_text(), "national defaults"}, {text, kSource}});
  if (!layered) {
    check_refusal(layered.error());
    return 0;
  }
  check_arithmetic(**layered);
  return 0;
}
