// The working-day calendar behind the SLA clock: the Saudi week, working hours
// in Asia/Riyadh, public holidays (fixed Gregorian dates and Hijri-dated spans
// resolved with ICU's Umm al-Qura calendar) and explicit overrides.
//
// Time zone: Saudi Arabia keeps UTC+3 all year (Asia/Riyadh has no daylight
// saving time), so a local date is `ms + kRiyadhOffsetMs` (time_util.hpp) and
// ICU is given a fixed "GMT+03:00" zone; no tz database is involved.
//
// Coverage: the calendar resolves holidays for Gregorian years kMinYear..
// kMaxYear (1900..2100), all inside ICU's Umm al-Qura table (1300..1600 AH).
// Outside that range only the weekend applies (no holidays are known); the
// Hijri conversions themselves still answer there, but ICU falls back to the
// arithmetic Islamic calendar outside its table (before 1882 or after 2174).
//
// The calendar file format is documented in deploy/calendar/README.md; the
// national defaults ship as deploy/calendar/saudi.conf (compiled in:
// national_calendar_text()).
//
// Thread safety: the free functions may be called from any thread (each thread
// keeps its own ICU Calendar; ICU calendars are not safe to share). A
// WorkingCalendar is immutable once built and is shared as
// shared_ptr<const WorkingCalendar>; CalendarHolder swaps it under a mutex.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/error.hpp"

namespace tawasul::node {

// ---------------------------------------------------------------- dates ----

// A proleptic Gregorian date (no time, no zone).
struct CivilDate {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31

  // nullopt unless the date exists (2027-02-29 does not).
  static std::optional<CivilDate> make(int year, int month, int day);
  // "YYYY-MM-DD", exactly; nullopt for anything else or an impossible date.
  static std::optional<CivilDate> parse(std::string_view iso);
  static CivilDate from_days(std::int64_t days_since_epoch);
  std::int64_t days() const;  // days since 1970-01-01
  int weekday() const;        // 0 = Sunday … 6 = Saturday
  std::string iso() const;    // "2027-09-23"
  auto operator<=>(const CivilDate&) const = default;
};

// An Umm al-Qura Hijri date.
struct HijriDate {
  int year = 1448;
  int month = 1;                // 1 (Muharram) .. 12 (Dhu al-Hijjah)
  int day = 1;                  // 1..30
  std::string iso() const;      // "1448-10-01"
  std::string text_ar() const;  // "1 شوال 1448هـ"
  std::string text_en() const;  // "1 Shawwal 1448 AH"
  auto operator<=>(const HijriDate&) const = default;
};

// The local (Asia/Riyadh) date of an instant, and the instant (UTC ms) of a
// local date's midnight.
CivilDate riyadh_date(std::int64_t ms);
std::int64_t riyadh_midnight_ms(CivilDate date);

// Gregorian → Umm al-Qura (ICU calendar "islamic-umalqura").
HijriDate to_hijri(CivilDate g);
// Umm al-Qura → Gregorian; nullopt for a date that does not exist: month
// outside 1..12, day outside 1..30, day 30 of a 29-day month, a year outside
// 1..9999 (checked by converting back).
std::optional<CivilDate> from_hijri(HijriDate h);

// Month names, index 1..12 (index 0 is empty): Arabic (محرم … ذو الحجة),
// English transliteration (Muharram … Dhu al-Hijjah) and the key accepted in
// calendar files (muharram … dhu_al_hijjah).
const std::array<std::string_view, 13>& hijri_month_names_ar();
const std::array<std::string_view, 13>& hijri_month_names_en();
const std::array<std::string_view, 13>& hijri_month_keys();
// 1..12 for "10", "shawwal" (a key, any ASCII case) or "شوال"; nullopt otherwise.
std::optional<int> hijri_month_from_name(std::string_view name);

// {"date":"1448-10-01","text":{"ar":"1 شوال 1448هـ","en":"1 Shawwal 1448 AH"}}
nlohmann::json hijri_json(HijriDate h);
// The same for the Riyadh date of the instant `ms` (for `due_at_hijri` etc.).
nlohmann::json hijri_json(std::int64_t ms);

// ------------------------------------------------------ the calendar file ----

// A day of the week as the file spells it: sun mon tue wed thu fri sat.
std::optional<int> weekday_from_name(std::string_view name);  // 0 = sun
std::string_view weekday_name(int weekday);

struct WorkingHours {
  int start_minute = 8 * 60;  // 08:00 Riyadh
  int end_minute = 15 * 60;   // 15:00 Riyadh; start < end <= 24:00
  std::int64_t ms_per_day() const { return (end_minute - start_minute) * std::int64_t{60'000}; }
  std::string text() const;  // "08:00-15:00"
};

enum class HolidayKind { kFixed, kHijri, kClosure };
std::string_view holiday_kind_name(HolidayKind kind);  // "fixed", "hijri", "closure"

struct Provenance {
  std::string source;  // the file's name, e.g. "saudi.conf"
  int line = 0;        // 1-based
};

// `fixed MM-DD [+N] ID "ar" "en"` or `hijri MM-DD [+N] ID "ar" "en"`: a span of
// N days (default 1) starting each year on a Gregorian or a Hijri date.
struct HolidayRule {
  HolidayKind kind = HolidayKind::kFixed;  // kFixed or kHijri
  int month = 1;
  int day = 1;
  int days = 1;
  std::string id;
  std::string name_ar;
  std::string name_en;
  Provenance at;
};

// `close FIRST [LAST] "ar" "en"` (a closure) or `open FIRST [LAST] ["ar" "en"]`
// (days declared working): explicit dates, e.g. a moon-sighting shift.
struct DateOverride {
  bool working = false;  // true for `open`
  CivilDate first;
  CivilDate last;
  std::string name_ar;
  std::string name_en;
  Provenance at;
};

// One parsed calendar file, or several layered into one.
struct CalendarFile {
  std::optional<std::array<bool, 7>> weekend;  // [weekday] = day off; unset: fri sat
  std::optional<WorkingHours> hours;           // unset: 08:00-15:00
  std::vector<HolidayRule> rules;
  std::vector<DateOverride> overrides;  // applied in order; later wins

  // Parses one file. Refusals name the line: "saudi.conf line 7: unknown Hijri
  // month 'shawal'" (code "bad_calendar"): unknown keywords, unknown Hijri
  // months or weekdays, impossible Gregorian or Hijri dates (including a day
  // that does not exist every year: 02-29, Hijri day 30), dates outside
  // kMinYear..kMaxYear, bad hours, duplicate ids, and overlapping spans (two
  // rules of the same kind covering one day in some year; two closures, or two
  // `open`s, or a `close` and an `open`, sharing a day).
  static Result<CalendarFile> parse(std::string_view text, std::string_view source = "calendar");

  // `local` layered over `base` (the national file from the hub, then the
  // node's own): local `weekend`/`hours` replace the base's; a local rule with
  // the id of a base rule replaces it, other rules are added and must not
  // overlap the base's rules of the same kind; local overrides apply after the
  // base's, so a node may `open` a national closure or close a day more.
  static Result<CalendarFile> layer(const CalendarFile& base, const CalendarFile& local);
};

// ----------------------------------------------------- the working calendar ----

inline constexpr int kMinYear = 1900;
inline constexpr int kMaxYear = 2100;

// A holiday resolved to dates: one occurrence of a rule, or one closure.
struct Holiday {
  HolidayKind kind = HolidayKind::kFixed;
  std::string id;  // the rule's id; "closure" for a `close` line
  std::string name_ar;
  std::string name_en;
  CivilDate first;
  CivilDate last;  // inclusive
  Provenance at;
};

class WorkingCalendar {
 public:
  // Resolves every rule and override for kMinYear..kMaxYear. Fails only on a
  // file that would not have parsed (e.g. built by hand).
  static Result<std::shared_ptr<const WorkingCalendar>> build(const CalendarFile& file);
  // Parses and layers the texts in order (national first, then the node's).
  struct Layer {
    std::string_view text;
    std::string_view source;
  };
  static Result<std::shared_ptr<const WorkingCalendar>> load(const std::vector<Layer>& layers);

  const CalendarFile& file() const { return file_; }
  const WorkingHours& hours() const { return hours_; }
  const std::array<bool, 7>& weekend() const { return weekend_; }

  // Working: not a weekend day, not in a holiday span, not closed — unless an
  // `open` override says so (the last override covering the day wins).
  bool is_working_day(CivilDate date) const;
  // The first working day strictly after `date`.
  CivilDate next_working_day(CivilDate date) const;

  // Holiday spans and closures that touch `gregorian_year`, ordered by first
  // day (spans crossing New Year appear in both years). Empty outside
  // kMinYear..kMaxYear.
  std::vector<Holiday> holidays(int gregorian_year) const;
  // `open` overrides that touch the year, in file order.
  std::vector<DateOverride> opened(int gregorian_year) const;
  // Working days in a month (1..12) or a whole year (month 0).
  int working_days(int gregorian_year, int month = 0) const;

  // The due instant for an answer within `n` working days (n < 0 counts as 0):
  // the end of working hours (e.g. 15:00:00.000 Riyadh) of the nth working day
  // after the filing day. The filing day is the day of `from_ms` when that is a
  // working day and `from_ms` is before the end of its working hours;
  // otherwise (after hours, a weekend, a holiday) it is the next working day.
  // So n = 5 filed Sunday 10:00 → the next Sunday 15:00; filed Sunday 16:00 or
  // Saturday → the next Monday 15:00. An answer at or before the due instant
  // is on time.
  std::int64_t add_working_days(std::int64_t from_ms, int n) const;

  // Working time in [a, b): the overlap with working hours of working days;
  // 0 when b <= a.
  std::int64_t working_ms_between(std::int64_t a, std::int64_t b) const;

  // The earliest instant t >= from with working_ms_between(from, t) == ms
  // (ms <= 0 gives `from`). Used to resume a paused SLA clock with its
  // remaining working time: resume_due = add_working_ms(resume,
  // working_ms_between(pause, due)). Time that ends with a working day ends at
  // that day's closing time, not at the next day's opening.
  std::int64_t add_working_ms(std::int64_t from, std::int64_t ms) const;

 private:
  WorkingCalendar() = default;
  bool off_in_range(std::int64_t day) const;

  CalendarFile file_;
  WorkingHours hours_;
  std::array<bool, 7> weekend_{};
  std::int64_t first_day_ = 0;         // days() of kMinYear-01-01
  std::vector<std::uint8_t> working_;  // per day from first_day_: 1 = working
  std::vector<Holiday> holidays_;      // sorted by first
};

// The node's current calendar; a load that fails leaves it unchanged.
class CalendarHolder {
 public:
  explicit CalendarHolder(std::shared_ptr<const WorkingCalendar> initial);
  std::shared_ptr<const WorkingCalendar> current() const;
  // Loads `layers` (see WorkingCalendar::load); on success it becomes current
  // and is returned, on failure the error is returned and current() is the
  // calendar it was before.
  Result<std::shared_ptr<const WorkingCalendar>> reload(
      const std::vector<WorkingCalendar::Layer>& layers);

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const WorkingCalendar> current_;
};

// deploy/calendar/saudi.conf, compiled in.
std::string_view national_calendar_text();
// The national defaults alone, built once.
std::shared_ptr<const WorkingCalendar> national_calendar();

}  // namespace tawasul::node
