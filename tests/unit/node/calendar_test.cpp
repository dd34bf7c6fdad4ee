// Unit tests for the working-day calendar and the Umm al-Qura conversions
// (node/calendar.hpp).
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/calendar.hpp"
#include "node/time_util.hpp"

#ifndef TAWASUL_SOURCE_DIR
#error "TAWASUL_SOURCE_DIR must name the source tree (target_compile_definitions)"
#endif

namespace {

namespace node = tawasul::node;
using nlohmann::json;
using node::CivilDate;
using node::HijriDate;

constexpr std::int64_t kHourMs = 3600LL * 1000;
constexpr std::int64_t kMinuteMs = 60LL * 1000;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

CivilDate date(int y, int m, int d) {
  auto c = CivilDate::make(y, m, d);
  REQUIRE(c);
  return *c;
}

// The UTC instant of a Riyadh wall-clock time.
std::int64_t riyadh(int y, int m, int d, int hh = 0, int mm = 0) {
  return node::riyadh_midnight_ms(date(y, m, d)) + hh * kHourMs + mm * kMinuteMs;
}

std::shared_ptr<const node::WorkingCalendar> national() {
  return node::national_calendar();
}

std::shared_ptr<const node::WorkingCalendar> national_with(const std::string& node_text) {
  auto cal = node::WorkingCalendar::load(
      {{node::national_calendar_text(), "saudi.conf"}, {node_text, "node.conf"}});
  INFO((cal ? std::string() : cal.error().message));
  REQUIRE(cal);
  return *cal;
}

// The refusal of `text` as one calendar file: its message.
std::string refusal(const std::string& text) {
  auto file = node::CalendarFile::parse(text, "test.conf");
  REQUIRE_FALSE(file);
  CHECK(file.error().code == "bad_calendar");
  CHECK(file.error().status == 400);
  return file.error().message;
}

using Catch::Matchers::Contains;

}  // namespace

TEST_CASE("every Umm al-Qura check date converts exactly, both ways", "[calendar][hijri]") {
  std::ifstream in(std::string(TAWASUL_SOURCE_DIR) + "/tests/data/umm-al-qura-checks.tsv");
  REQUIRE(in.good());
  std::string line;
  int rows = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string gregorian, hijri;
    REQUIRE(std::getline(fields, gregorian, '\t'));
    REQUIRE(std::getline(fields, hijri, '\t'));
    INFO(line);
    auto g = CivilDate::parse(gregorian);
    REQUIRE(g);
    REQUIRE(hijri.size() == 10);
    HijriDate h{std::stoi(hijri.substr(0, 4)), std::stoi(hijri.substr(5, 2)),
                std::stoi(hijri.substr(8, 2))};
    CHECK(node::to_hijri(*g).iso() == hijri);
    auto back = node::from_hijri(h);
    REQUIRE(back);
    CHECK(back->iso() == gregorian);
    // Any instant of that Riyadh day is the same Hijri day.
    CHECK(node::hijri_json(node::riyadh_midnight_ms(*g))["date"] == hijri);
    CHECK(node::hijri_json(node::riyadh_midnight_ms(*g) + node::kDayMs - 1)["date"] == hijri);
    ++rows;
  }
  CHECK(rows == 12);
}

TEST_CASE("impossible Hijri dates are refused", "[calendar][hijri]") {
  CHECK_FALSE(node::from_hijri({1447, 13, 1}));
  CHECK_FALSE(node::from_hijri({1447, 0, 1}));
  CHECK_FALSE(node::from_hijri({1448, 10, 31}));
  CHECK_FALSE(node::from_hijri({1448, 10, 0}));
  // Muharram 1448 has 29 days, Safar 1448 has 30.
  CHECK_FALSE(node::from_hijri({1448, 1, 30}));
  REQUIRE(node::from_hijri({1448, 2, 30}));
  CHECK(node::from_hijri({1448, 1, 29})->iso() == "2026-07-14");
  CHECK(node::from_hijri({1448, 2, 1})->iso() == "2026-07-15");
  // Ramadan 1448 has 29 days: 1 Shawwal follows 29 Ramadan.
  CHECK_FALSE(node::from_hijri({1448, 9, 30}));
  CHECK(node::from_hijri({1448, 9, 29})->iso() == "2027-03-08");
}

TEST_CASE("Hijri dates print in Arabic and English", "[calendar][hijri]") {
  json j = node::hijri_json(HijriDate{1448, 10, 1});
  CHECK(j ==
        json::parse(
            R"({"date":"1448-10-01","text":{"ar":"1 شوال 1448هـ","en":"1 Shawwal 1448 AH"}})"));
  // 00:30 in Riyadh on 9 March 2027 is still 8 March in UTC: the Riyadh day counts.
  CHECK(node::hijri_json(riyadh(2027, 3, 9, 0, 30))["date"] == "1448-10-01");
  CHECK(node::hijri_json(riyadh(2027, 3, 8, 23, 59))["date"] == "1448-09-29");
  CHECK(HijriDate{1448, 12, 10}.text_en() == "10 Dhu al-Hijjah 1448 AH");
  CHECK(HijriDate{1448, 12, 10}.text_ar() == "10 ذو الحجة 1448هـ");
  CHECK(HijriDate{1448, 3, 5}.text_ar() == "5 ربيع الأول 1448هـ");

  CHECK(node::hijri_month_from_name("shawwal") == 10);
  CHECK(node::hijri_month_from_name("Shawwal") == 10);
  CHECK(node::hijri_month_from_name("شوال") == 10);
  CHECK(node::hijri_month_from_name("10") == 10);
  CHECK(node::hijri_month_from_name("dhu_al_hijjah") == 12);
  CHECK_FALSE(node::hijri_month_from_name("shawal"));
  CHECK_FALSE(node::hijri_month_from_name("13"));
  CHECK_FALSE(node::hijri_month_from_name("0"));
  CHECK_FALSE(node::hijri_month_from_name(""));
}

TEST_CASE("civil dates and Riyadh days", "[calendar]") {
  CHECK(date(2027, 9, 23).weekday() == 4);  // Thursday
  CHECK(date(2027, 2, 22).weekday() == 1);  // Monday
  CHECK(date(1970, 1, 1).weekday() == 4);
  CHECK(date(1969, 12, 28).weekday() == 0);
  CHECK_FALSE(CivilDate::make(2027, 2, 29));
  CHECK(CivilDate::make(2028, 2, 29));
  CHECK_FALSE(CivilDate::parse("2027-13-01"));
  CHECK_FALSE(CivilDate::parse("2027-1-01"));
  CHECK(CivilDate::from_days(date(2027, 3, 9).days()) == date(2027, 3, 9));
  // 21:00 UTC is already the next day in Riyadh.
  CHECK(node::riyadh_date(riyadh(2027, 3, 9)) == date(2027, 3, 9));
  CHECK(node::riyadh_date(riyadh(2027, 3, 9) - 1) == date(2027, 3, 8));
}

TEST_CASE("the national calendar: its holidays in 2027", "[calendar]") {
  auto cal = national();
  CHECK(cal->hours().text() == "08:00-15:00");
  auto hs = cal->holidays(2027);
  std::vector<std::string> listed;
  for (const auto& h : hs) listed.push_back(h.id + " " + h.first.iso() + " " + h.last.iso());
  CHECK(listed == std::vector<std::string>{
                      "founding_day 2027-02-22 2027-02-22", "eid_al_fitr 2027-03-08 2027-03-14",
                      "eid_al_adha 2027-05-15 2027-05-19", "national_day 2027-09-23 2027-09-23"});
  REQUIRE(hs.size() == 4);
  CHECK(hs[1].name_ar == "عيد الفطر");
  CHECK(hs[1].name_en == "Eid al-Fitr");
  CHECK(hs[1].kind == node::HolidayKind::kHijri);
  CHECK(hs[1].at.source == "saudi.conf");
  CHECK(node::to_hijri(hs[1].first).iso() == "1448-09-29");
  CHECK(node::to_hijri(hs[2].first).iso() == "1448-12-09");
  CHECK(node::to_hijri(hs[2].last).iso() == "1448-12-13");

  // 2027: 365 days from a Friday → 105 weekend days; 11 holidays fall on weekdays
  // (Founding Day, National Day, 5 of Eid al-Fitr, 4 of Eid al-Adha).
  CHECK(cal->working_days(2027) == 249);
  int sum = 0;
  for (int m = 1; m <= 12; ++m) sum += cal->working_days(2027, m);
  CHECK(sum == 249);
  CHECK(cal->working_days(2027, 3) == 23 - 5);

  CHECK_FALSE(cal->is_working_day(date(2027, 9, 23)));
  CHECK_FALSE(cal->is_working_day(date(2027, 9, 24)));  // Friday
  CHECK(cal->is_working_day(date(2027, 9, 26)));        // Sunday
  CHECK(cal->next_working_day(date(2027, 3, 7)) == date(2027, 3, 15));
}

TEST_CASE("the compiled-in national calendar is deploy/calendar/saudi.conf", "[calendar]") {
  CHECK(node::national_calendar_text() ==
        read_file(std::string(TAWASUL_SOURCE_DIR) + "/deploy/calendar/saudi.conf"));
}

TEST_CASE("a Gregorian holiday may fall inside a Hijri one", "[calendar]") {
  // 2015: Eid al-Adha 1436 began on 9 Dhu al-Hijjah = 23 September, National Day.
  auto hs = national()->holidays(2015);
  int on_sep_23 = 0;
  for (const auto& h : hs)
    if (!(h.last < date(2015, 9, 23)) && !(date(2015, 9, 23) < h.first)) ++on_sep_23;
  CHECK(on_sep_23 == 2);
}

TEST_CASE("due dates across weekends, and the after-hours rule", "[calendar][due]") {
  auto cal = national();
  // Sunday 3 January 2027, in working hours: 5 working days → the next Sunday at 15:00.
  CHECK(cal->add_working_days(riyadh(2027, 1, 3, 10), 5) == riyadh(2027, 1, 10, 15));
  CHECK(cal->add_working_days(riyadh(2027, 1, 3, 7), 5) == riyadh(2027, 1, 10, 15));
  CHECK(cal->add_working_days(riyadh(2027, 1, 3, 15) - 1, 5) == riyadh(2027, 1, 10, 15));
  // At or after 15:00 the case counts from Monday.
  CHECK(cal->add_working_days(riyadh(2027, 1, 3, 15), 5) == riyadh(2027, 1, 11, 15));
  CHECK(cal->add_working_days(riyadh(2027, 1, 3, 23, 30), 5) == riyadh(2027, 1, 11, 15));
  // Thursday → Sunday; a weekend filing counts from Sunday.
  CHECK(cal->add_working_days(riyadh(2027, 1, 7, 10), 1) == riyadh(2027, 1, 10, 15));
  CHECK(cal->add_working_days(riyadh(2027, 1, 8, 10), 1) == riyadh(2027, 1, 11, 15));
  CHECK(cal->add_working_days(riyadh(2027, 1, 9, 23), 5) == riyadh(2027, 1, 17, 15));
  // n = 0: the end of the filing day's hours.
  CHECK(cal->add_working_days(riyadh(2027, 1, 3, 10), 0) == riyadh(2027, 1, 3, 15));
  CHECK(cal->add_working_days(riyadh(2027, 1, 3, 10), -3) == riyadh(2027, 1, 3, 15));
}

TEST_CASE("due dates across Gregorian and Hijri holidays", "[calendar][due]") {
  auto cal = national();
  // National Day 2027 is Thursday 23 September; then the weekend.
  CHECK(cal->add_working_days(riyadh(2027, 9, 22, 10), 1) == riyadh(2027, 9, 26, 15));
  CHECK(cal->add_working_days(riyadh(2027, 9, 22, 10), 2) == riyadh(2027, 9, 27, 15));
  // Founding Day 2027 is Monday 22 February.
  CHECK(cal->add_working_days(riyadh(2027, 2, 21, 10), 1) == riyadh(2027, 2, 23, 15));
  // Eid al-Fitr 1448: 29 Ramadan (8 March) for 7 days, back on Monday 15 March.
  CHECK(cal->add_working_days(riyadh(2027, 3, 4, 10), 1) == riyadh(2027, 3, 7, 15));
  CHECK(cal->add_working_days(riyadh(2027, 3, 4, 10), 2) == riyadh(2027, 3, 15, 15));
  CHECK(cal->add_working_days(riyadh(2027, 3, 10, 10), 1) == riyadh(2027, 3, 16, 15));
  CHECK(cal->add_working_days(riyadh(2027, 3, 4, 10), 5) == riyadh(2027, 3, 18, 15));
  // Eid al-Adha 1448: Saturday 15 May to Wednesday 19 May.
  CHECK(cal->add_working_days(riyadh(2027, 5, 13, 10), 1) == riyadh(2027, 5, 20, 15));
}

TEST_CASE("overrides: closures and days declared working", "[calendar][due]") {
  // The moon is sighted a day late: 8 March is worked, 15 March is off.
  auto shifted = national_with(
      "open 2027-03-08\n"
      "close 2027-03-15 \"تمديد إجازة العيد\" \"Eid holiday extended\"\n");
  CHECK(shifted->add_working_days(riyadh(2027, 3, 4, 10), 1) == riyadh(2027, 3, 7, 15));
  CHECK(shifted->add_working_days(riyadh(2027, 3, 4, 10), 2) == riyadh(2027, 3, 8, 15));
  CHECK(shifted->add_working_days(riyadh(2027, 3, 4, 10), 3) == riyadh(2027, 3, 16, 15));
  CHECK(shifted->working_days(2027) == 249);
  auto hs = shifted->holidays(2027);
  REQUIRE(hs.size() == 5);
  CHECK(hs[2].kind == node::HolidayKind::kClosure);
  CHECK(hs[2].first == date(2027, 3, 15));
  CHECK(hs[2].name_en == "Eid holiday extended");
  REQUIRE(shifted->opened(2027).size() == 1);
  CHECK(shifted->opened(2027)[0].first == date(2027, 3, 8));
  CHECK(shifted->opened(2028).empty());

  // A rain closure over two days, and a Saturday declared working.
  auto rain = national_with(
      "close 2027-01-11 2027-01-12 \"تعليق الدراسة للأمطار\" \"Rain closure\"\n"
      "open 2027-01-09 \"يوم عمل\" \"Make-up day\"\n");
  CHECK(rain->add_working_days(riyadh(2027, 1, 7, 10), 1) == riyadh(2027, 1, 9, 15));
  CHECK(rain->add_working_days(riyadh(2027, 1, 7, 10), 3) == riyadh(2027, 1, 13, 15));
  CHECK(rain->working_days(2027, 1) == national()->working_days(2027, 1) - 1);
}

TEST_CASE("working time between instants, and adding it back", "[calendar][ms]") {
  auto cal = national();
  const std::int64_t day = 7 * kHourMs;
  CHECK(cal->working_ms_between(riyadh(2027, 1, 3, 10), riyadh(2027, 1, 3, 15)) == 5 * kHourMs);
  CHECK(cal->working_ms_between(riyadh(2027, 1, 3, 0), riyadh(2027, 1, 10, 0)) == 5 * day);
  CHECK(cal->working_ms_between(riyadh(2027, 1, 7, 14), riyadh(2027, 1, 10, 9)) == 2 * kHourMs);
  CHECK(cal->working_ms_between(riyadh(2027, 1, 8, 9), riyadh(2027, 1, 9, 12)) == 0);
  CHECK(cal->working_ms_between(riyadh(2027, 1, 10, 9), riyadh(2027, 1, 7, 9)) == 0);
  // Across Eid al-Fitr: Thursday 4 March to Monday 15 March, 10:00 → 10:00.
  CHECK(cal->working_ms_between(riyadh(2027, 3, 4, 10), riyadh(2027, 3, 15, 10)) ==
        5 * kHourMs + day + 2 * kHourMs);
  // Filing to due: Sunday 10:00 → the next Sunday 15:00 is 5 h + 5 × 7 h.
  CHECK(cal->working_ms_between(riyadh(2027, 1, 3, 10), riyadh(2027, 1, 10, 15)) ==
        5 * kHourMs + 5 * day);

  // Working time that ends with a day ends at its closing time.
  CHECK(cal->add_working_ms(riyadh(2027, 1, 7, 14), kHourMs) == riyadh(2027, 1, 7, 15));
  CHECK(cal->add_working_ms(riyadh(2027, 1, 7, 14), kHourMs + 1) == riyadh(2027, 1, 10, 8) + 1);
  CHECK(cal->add_working_ms(riyadh(2027, 1, 8, 11), 0) == riyadh(2027, 1, 8, 11));
  CHECK(cal->add_working_ms(riyadh(2027, 1, 8, 11), 1) == riyadh(2027, 1, 10, 8) + 1);
  CHECK(cal->add_working_ms(riyadh(2027, 3, 7, 14), 2 * kHourMs) == riyadh(2027, 3, 15, 9));

  // Round trips from many starting points.
  const std::vector<std::int64_t> starts{riyadh(2027, 1, 3, 7),      riyadh(2027, 1, 3, 10, 17),
                                         riyadh(2027, 1, 7, 14, 59), riyadh(2027, 1, 8, 12),
                                         riyadh(2027, 3, 7, 16),     riyadh(2027, 9, 22, 23, 59),
                                         riyadh(2027, 12, 30, 11)};
  const std::vector<std::int64_t> amounts{1,       kMinuteMs,       kHourMs,  day - 1,  day,
                                          day + 1, 5 * day + 12345, 40 * day, 300 * day};
  for (auto a : starts) {
    for (auto m : amounts) {
      INFO(a << " + " << m);
      const std::int64_t t = cal->add_working_ms(a, m);
      CHECK(cal->working_ms_between(a, t) == m);
      CHECK(cal->working_ms_between(a, t - 1) == m - 1);
      CHECK(cal->add_working_ms(a, cal->working_ms_between(a, t)) == t);
    }
  }
}

TEST_CASE("a paused SLA clock resumes with its remaining working time", "[calendar][ms]") {
  auto cal = national();
  const std::int64_t filed = riyadh(2027, 1, 3, 10);
  const std::int64_t due = cal->add_working_days(filed, 5);
  REQUIRE(due == riyadh(2027, 1, 10, 15));
  // Waiting for the beneficiary from Tuesday 12:00 to the next Monday 09:00.
  const std::int64_t paused = riyadh(2027, 1, 5, 12);
  const std::int64_t resumed = riyadh(2027, 1, 11, 9);
  const std::int64_t remaining = cal->working_ms_between(paused, due);
  CHECK(remaining == 24 * kHourMs);  // Tue 3 h, Wed 7, Thu 7, Sun 7
  const std::int64_t new_due = cal->add_working_ms(resumed, remaining);
  CHECK(new_due == riyadh(2027, 1, 14, 12));
  // The time worked before and after the pause adds up to the original budget.
  CHECK(cal->working_ms_between(filed, paused) + cal->working_ms_between(resumed, new_due) ==
        cal->working_ms_between(filed, due));
  // A pause that ends at once changes nothing, even with the due time at closing.
  CHECK(cal->add_working_ms(paused, cal->working_ms_between(paused, due)) == due);
  // A pause over a weekend only: resuming Sunday 08:00 keeps the same due time.
  CHECK(cal->add_working_ms(riyadh(2027, 1, 10, 8),
                            cal->working_ms_between(riyadh(2027, 1, 7, 15), due)) == due);
  // The 80 % warning: Thursday 14:00 (32 of 40 working hours).
  const std::int64_t total = cal->working_ms_between(filed, due);
  CHECK(cal->add_working_ms(filed, total * 8 / 10) == riyadh(2027, 1, 7, 14));
}

TEST_CASE("working hours and the weekend are configurable", "[calendar]") {
  auto cal = node::WorkingCalendar::load({{"weekend sat\nhours 07:30-14:30\n", "custom.conf"}});
  REQUIRE(cal);
  CHECK((*cal)->is_working_day(date(2027, 1, 8)));  // Friday is worked here
  CHECK_FALSE((*cal)->is_working_day(date(2027, 1, 9)));
  CHECK((*cal)->add_working_days(riyadh(2027, 1, 7, 14, 30), 1) == riyadh(2027, 1, 10, 14, 30));
  CHECK((*cal)->working_ms_between(riyadh(2027, 1, 7, 0), riyadh(2027, 1, 8, 0)) == 7 * kHourMs);
  // A file with neither keeps the Saudi week and 08:00-15:00.
  auto plain = node::WorkingCalendar::load({{"# nothing\n", "empty.conf"}});
  REQUIRE(plain);
  CHECK((*plain)->hours().text() == "08:00-15:00");
  CHECK_FALSE((*plain)->is_working_day(date(2027, 1, 8)));
  CHECK((*plain)->is_working_day(date(2027, 9, 23)));
}

TEST_CASE("outside 1900..2100 only the weekend applies", "[calendar]") {
  auto cal = national();
  CHECK(cal->holidays(1899).empty());
  CHECK(cal->holidays(2101).empty());
  CHECK_FALSE(cal->holidays(1900).empty());
  CHECK_FALSE(cal->holidays(2100).empty());
  // Founding Day is a holiday in 2100, not in 2101 (both weekdays).
  REQUIRE(date(2100, 2, 22).weekday() == 1);
  REQUIRE(date(2101, 2, 22).weekday() == 2);
  CHECK_FALSE(cal->is_working_day(date(2100, 2, 22)));
  CHECK(cal->is_working_day(date(2101, 2, 22)));
  CHECK_FALSE(cal->is_working_day(date(2101, 1, 7)));  // Friday
  // Due dates cross the end of the range.
  CHECK(node::riyadh_date(cal->add_working_days(riyadh(2100, 12, 30, 10), 5)) == date(2101, 1, 6));
}

TEST_CASE("bad calendar files are refused with their line number", "[calendar][refusal]") {
  CHECK_THAT(refusal("weekend fri sat\n\nholiday 09-23 x \"a\" \"b\"\n"),
             Contains("test.conf line 3: unknown keyword 'holiday'"));
  CHECK_THAT(refusal("# eid\n\n\n\n\n\nhijri shawal-01 +3 eid \"عيد\" \"Eid\"\n"),
             Contains("line 7: unknown Hijri month 'shawal'"));
  CHECK_THAT(refusal("hijri 13-01 new \"a\" \"b\"\n"),
             Contains("line 1: unknown Hijri month '13'"));
  CHECK_THAT(refusal("hijri 00-01 new \"a\" \"b\"\n"),
             Contains("line 1: unknown Hijri month '00'"));
  CHECK_THAT(refusal("\nhijri shawwal-31 x \"a\" \"b\"\n"),
             Contains("line 2: impossible Hijri date 'shawwal-31'"));
  CHECK_THAT(refusal("hijri shawwal-00 x \"a\" \"b\"\n"),
             Contains("line 1: impossible Hijri date 'shawwal-00'"));
  CHECK_THAT(refusal("hijri ramadan-30 x \"a\" \"b\"\n"),
             Contains("line 1: Hijri day 30 does not occur every year"));
  CHECK_THAT(refusal("fixed 02-30 x \"a\" \"b\"\n"), Contains("line 1: impossible date '02-30'"));
  CHECK_THAT(refusal("fixed 13-01 x \"a\" \"b\"\n"), Contains("line 1: impossible date '13-01'"));
  CHECK_THAT(refusal("fixed 02-29 x \"a\" \"b\"\n"),
             Contains("line 1: 02-29 does not occur every year"));
  CHECK_THAT(refusal("fixed 2-22 x \"a\" \"b\"\n"), Contains("line 1: bad date '2-22' (MM-DD)"));
  CHECK_THAT(refusal("\n\nclose 2027-02-29 \"a\" \"b\"\n"),
             Contains("line 3: impossible date '2027-02-29'"));
  CHECK_THAT(refusal("open 27-03-01\n"), Contains("line 1: bad date '27-03-01'"));
  CHECK_THAT(refusal("close 2027-03-11 2027-03-10 \"a\" \"b\"\n"),
             Contains("line 1: the last date is before the first"));
  CHECK_THAT(refusal("close 2101-01-01 \"a\" \"b\"\n"),
             Contains("line 1: dates outside the calendar's years"));
  CHECK_THAT(refusal("close 2027-03-10\n"), Contains("line 1: close needs two names"));
  CHECK_THAT(refusal("hours 15:00-08:00\n"),
             Contains("line 1: bad hours '15:00-08:00': the start is not before the end"));
  CHECK_THAT(refusal("hours 8-15\n"), Contains("line 1: bad hours '8-15'"));
  CHECK_THAT(refusal("hours 08:00-25:00\n"), Contains("line 1: bad hours"));
  CHECK_THAT(refusal("hours 08:00-08:60\n"), Contains("line 1: bad hours"));
  CHECK_THAT(refusal("hours\n"), Contains("line 1: hours takes one HH:MM-HH:MM range"));
  CHECK_THAT(refusal("hours 08:00-15:00\nhours 08:00-14:00\n"),
             Contains("line 2: hours given twice (line 1)"));
  CHECK_THAT(refusal("weekend fri friday\n"), Contains("line 1: unknown weekday 'friday'"));
  CHECK_THAT(refusal("weekend fri fri\n"), Contains("line 1: weekday 'fri' repeated"));
  CHECK_THAT(refusal("weekend sun mon tue wed thu fri sat\n"),
             Contains("line 1: a weekend of all"));
  CHECK_THAT(refusal("fixed 09-23 +0 x \"a\" \"b\"\n"), Contains("line 1: bad span '+0'"));
  CHECK_THAT(refusal("fixed 09-23 +61 x \"a\" \"b\"\n"), Contains("line 1: bad span '+61'"));
  CHECK_THAT(refusal("fixed 09-23 National \"a\" \"b\"\n"),
             Contains("line 1: a holiday needs an id"));
  CHECK_THAT(refusal("fixed 09-23 x \"a\"\n"), Contains("line 1: a holiday needs two names"));
  CHECK_THAT(refusal("fixed 09-23 x \"a\" b\n"), Contains("line 1: names must be \"quoted\""));
  CHECK_THAT(refusal("fixed 09-23 x \"a\" \"  \"\n"), Contains("line 1: a name must not be blank"));
  CHECK_THAT(refusal("fixed 09-23 x \"a\" \"b\n"), Contains("line 1: unterminated quoted name"));
  CHECK_THAT(refusal("fixed 09-23 x \"a\" \"\xff\"\n"),
             Contains("line 1: a name is not valid UTF-8"));
  CHECK_THAT(refusal("fixed 09-23 x \"a\" \"b\"\nfixed 02-22 x \"c\" \"d\"\n"),
             Contains("line 2: duplicate holiday id 'x' (line 1)"));
  CHECK_THAT(refusal("fixed 09-23 closure \"a\" \"b\"\n"),
             Contains("line 1: 'closure' is reserved"));
}

TEST_CASE("overlapping spans in one file are refused", "[calendar][refusal]") {
  CHECK_THAT(
      refusal("fixed 09-23 +2 national_day \"a\" \"b\"\n# x\nfixed 09-24 other \"c\" \"d\"\n"),
      Contains("line 3: fixed holiday 'other' overlaps 'national_day' (line 1) on 1900-09-24"));
  // A span crossing New Year meets a holiday of the next year.
  CHECK_THAT(refusal("fixed 01-01 new_year \"a\" \"b\"\nfixed 12-30 +3 winter \"c\" \"d\"\n"),
             Contains("line 2: fixed holiday 'winter' overlaps 'new_year' (line 1)"));
  CHECK_THAT(
      refusal(
          "hijri ramadan-29 +7 eid_al_fitr \"a\" \"b\"\nhijri shawwal-05 +2 other \"c\" \"d\"\n"),
      Contains("line 2: hijri holiday 'other' overlaps 'eid_al_fitr' (line 1)"));
  // Spans that meet end to end do not overlap.
  CHECK(node::CalendarFile::parse(
      "hijri ramadan-28 +1 a \"a\" \"a\"\nhijri ramadan-29 +1 b \"b\" \"b\"\n", "t"));
  CHECK_THAT(refusal("close 2027-03-10 2027-03-11 \"a\" \"b\"\nclose 2027-03-11 \"c\" \"d\"\n"),
             Contains("line 2: close dates overlap the close at line 1 on 2027-03-11"));
  CHECK_THAT(refusal("open 2027-03-10\n\nclose 2027-03-09 2027-03-12 \"c\" \"d\"\n"),
             Contains("line 3: close dates overlap the open at line 1 on 2027-03-10"));
  CHECK_THAT(refusal("open 2027-03-10\nopen 2027-03-10\n"),
             Contains("line 2: open dates overlap the open at line 1 on 2027-03-10"));
}

TEST_CASE("a node calendar is layered over the national one", "[calendar][layer]") {
  // A node's own holiday, its own hours, and a longer Eid al-Fitr by replacing the rule.
  auto cal = national_with(
      "hours 07:30-14:30\n"
      "fixed 10-05 university_day \"يوم الجامعة\" \"University Day\"\n"
      "hijri ramadan-25 +12 eid_al_fitr \"إجازة عيد الفطر\" \"Eid al-Fitr break\"\n");
  CHECK(cal->hours().text() == "07:30-14:30");
  auto hs = cal->holidays(2027);
  std::vector<std::string> listed;
  for (const auto& h : hs) listed.push_back(h.id + " " + h.first.iso() + " " + h.at.source);
  CHECK(listed == std::vector<std::string>{
                      "founding_day 2027-02-22 saudi.conf", "eid_al_fitr 2027-03-04 node.conf",
                      "eid_al_adha 2027-05-15 saudi.conf", "national_day 2027-09-23 saudi.conf",
                      "university_day 2027-10-05 node.conf"});
  // A node may open a day the hub closed.
  auto hub = std::string(node::national_calendar_text()) +
             "close 2027-01-11 \"تعليق الدراسة\" \"Closure\"\n";
  auto layered =
      node::WorkingCalendar::load({{hub, "hub.conf"}, {"open 2027-01-11\n", "ksu.conf"}});
  REQUIRE(layered);
  CHECK((*layered)->is_working_day(date(2027, 1, 11)));

  // A node rule that overlaps a national one (not replacing it) is refused, naming both files.
  auto bad =
      node::WorkingCalendar::load({{node::national_calendar_text(), "saudi.conf"},
                                   {"\nfixed 09-22 +2 local \"محلي\" \"Local\"\n", "node.conf"}});
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message,
             Contains("node.conf line 2: fixed holiday 'local' overlaps 'national_day' "
                      "(saudi.conf line 17)"));
}

TEST_CASE("a failed load keeps the previous calendar", "[calendar][layer]") {
  node::CalendarHolder holder(national());
  auto before = holder.current();
  REQUIRE(before == national());

  auto failed = holder.reload({{node::national_calendar_text(), "saudi.conf"},
                               {"hijri shawal-01 +3 eid \"عيد\" \"Eid\"\n", "node.conf"}});
  REQUIRE_FALSE(failed);
  CHECK_THAT(failed.error().message, Contains("node.conf line 1: unknown Hijri month 'shawal'"));
  CHECK(holder.current() == before);
  CHECK_FALSE(holder.current()->is_working_day(date(2027, 9, 23)));

  auto ok = holder.reload(
      {{node::national_calendar_text(), "saudi.conf"}, {"open 2027-09-23\n", "node.conf"}});
  REQUIRE(ok);
  CHECK(holder.current() == *ok);
  CHECK(holder.current() != before);
  CHECK(holder.current()->is_working_day(date(2027, 9, 23)));
  // Whoever held the old calendar still has it, unchanged.
  CHECK_FALSE(before->is_working_day(date(2027, 9, 23)));

  CHECK_FALSE(node::WorkingCalendar::load({}));
}
