// Gregorian dates, Riyadh days and Umm al-Qura Hijri dates (node/calendar.hpp).
#include <unicode/calendar.h>
#include <unicode/locid.h>
#include <unicode/simpletz.h>
#include <unicode/ucal.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#include "node/calendar.hpp"
#include "node/time_util.hpp"

namespace tawasul::node {

namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// One Umm al-Qura calendar per thread: an icu::Calendar holds mutable fields
// and must not be shared. Its zone is a fixed UTC+3, Asia/Riyadh's offset all
// year; it is strict (not lenient), so impossible fields fail in getTime.
icu::Calendar& umalqura() {
  thread_local std::unique_ptr<icu::Calendar> calendar = [] {
    UErrorCode status = U_ZERO_ERROR;
    auto* zone = new icu::SimpleTimeZone(static_cast<int32_t>(kRiyadhOffsetMs),
                                         icu::UnicodeString(u"GMT+03:00"));
    std::unique_ptr<icu::Calendar> c(
        icu::Calendar::createInstance(zone, icu::Locale("@calendar=islamic-umalqura"), status));
    if (U_FAILURE(status) || !c || std::string(c->getType()) != "islamic-umalqura") {
      throw std::runtime_error(std::string("ICU has no islamic-umalqura calendar: ") +
                               u_errorName(status));
    }
    c->setLenient(false);
    return c;
  }();
  return *calendar;
}

constexpr std::int64_t kNoonMs = 12LL * 3600 * 1000;

}  // namespace

std::optional<CivilDate> CivilDate::make(int year, int month, int day) {
  if (year < -30000 || year > 30000 || month < 1 || month > 12 || day < 1 || day > 31)
    return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year(year),
                                  std::chrono::month(static_cast<unsigned>(month)),
                                  std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;
  return CivilDate{year, month, day};
}

std::optional<CivilDate> CivilDate::parse(std::string_view iso) {
  if (iso.size() != 10 || iso[4] != '-' || iso[7] != '-') return std::nullopt;
  int parts[3] = {0, 0, 0};
  const std::size_t starts[3] = {0, 5, 8};
  const std::size_t lengths[3] = {4, 2, 2};
  for (int i = 0; i < 3; ++i) {
    for (std::size_t k = 0; k < lengths[i]; ++k) {
      char ch = iso[starts[i] + k];
      if (ch < '0' || ch > '9') return std::nullopt;
      parts[i] = parts[i] * 10 + (ch - '0');
    }
  }
  return make(parts[0], parts[1], parts[2]);
}

CivilDate CivilDate::from_days(std::int64_t days_since_epoch) {
  std::chrono::year_month_day ymd{
      std::chrono::sys_days(std::chrono::days(static_cast<int>(days_since_epoch)))};
  return CivilDate{static_cast<int>(ymd.year()),
                   static_cast<int>(static_cast<unsigned>(ymd.month())),
                   static_cast<int>(static_cast<unsigned>(ymd.day()))};
}

std::int64_t CivilDate::days() const {
  std::chrono::year_month_day ymd{std::chrono::year(year),
                                  std::chrono::month(static_cast<unsigned>(month)),
                                  std::chrono::day(static_cast<unsigned>(day))};
  return std::chrono::sys_days(ymd).time_since_epoch().count();
}

int CivilDate::weekday() const {
  // 1970-01-01 was a Thursday (4).
  return static_cast<int>(((days() % 7) + 7 + 4) % 7);
}

std::string CivilDate::iso() const {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", year, month, day);
  return buf;
}

std::string HijriDate::iso() const {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", year, month, day);
  return buf;
}

std::string HijriDate::text_ar() const {
  std::string name = month >= 1 && month <= 12 ? std::string(hijri_month_names_ar()[month]) : "?";
  return std::to_string(day) + " " + name + " " + std::to_string(year) + "هـ";
}

std::string HijriDate::text_en() const {
  std::string name = month >= 1 && month <= 12 ? std::string(hijri_month_names_en()[month]) : "?";
  return std::to_string(day) + " " + name + " " + std::to_string(year) + " AH";
}

CivilDate riyadh_date(std::int64_t ms) {
  return CivilDate::from_days(floor_div(ms + kRiyadhOffsetMs, kDayMs));
}

std::int64_t riyadh_midnight_ms(CivilDate date) {
  return date.days() * kDayMs - kRiyadhOffsetMs;
}

HijriDate to_hijri(CivilDate g) {
  icu::Calendar& cal = umalqura();
  UErrorCode status = U_ZERO_ERROR;
  cal.clear();
  // Noon in Riyadh: well inside the day whatever ICU does with midnights.
  cal.setTime(static_cast<UDate>(riyadh_midnight_ms(g) + kNoonMs), status);
  HijriDate h;
  h.year = cal.get(UCAL_EXTENDED_YEAR, status);
  h.month = cal.get(UCAL_MONTH, status) + 1;
  h.day = cal.get(UCAL_DATE, status);
  if (U_FAILURE(status)) {
    throw std::runtime_error("Umm al-Qura conversion of " + g.iso() +
                             " failed: " + u_errorName(status));
  }
  return h;
}

std::optional<CivilDate> from_hijri(HijriDate h) {
  if (h.year < 1 || h.year > 9999 || h.month < 1 || h.month > 12 || h.day < 1 || h.day > 30)
    return std::nullopt;
  icu::Calendar& cal = umalqura();
  UErrorCode status = U_ZERO_ERROR;
  cal.clear();
  cal.set(UCAL_EXTENDED_YEAR, h.year);
  cal.set(UCAL_MONTH, h.month - 1);
  cal.set(UCAL_DATE, h.day);
  cal.set(UCAL_HOUR_OF_DAY, 12);
  UDate t = cal.getTime(status);
  if (U_FAILURE(status)) return std::nullopt;
  CivilDate g = riyadh_date(static_cast<std::int64_t>(t));
  // Strict mode refuses day 30 of a 29-day month; the round trip makes sure.
  if (to_hijri(g) != h) return std::nullopt;
  return g;
}

const std::array<std::string_view, 13>& hijri_month_names_ar() {
  static const std::array<std::string_view, 13> names{
      "",    "محرم",  "صفر",   "ربيع الأول", "ربيع الآخر", "جمادى الأولى", "جمادى الآخرة",
      "رجب", "شعبان", "رمضان", "شوال",       "ذو القعدة",  "ذو الحجة"};
  return names;
}

const std::array<std::string_view, 13>& hijri_month_names_en() {
  static const std::array<std::string_view, 13> names{"",
                                                      "Muharram",
                                                      "Safar",
                                                      "Rabi al-Awwal",
                                                      "Rabi al-Thani",
                                                      "Jumada al-Ula",
                                                      "Jumada al-Akhirah",
                                                      "Rajab",
                                                      "Shaban",
                                                      "Ramadan",
                                                      "Shawwal",
                                                      "Dhu al-Qadah",
                                                      "Dhu al-Hijjah"};
  return names;
}

const std::array<std::string_view, 13>& hijri_month_keys() {
  static const std::array<std::string_view, 13> keys{"",
                                                     "muharram",
                                                     "safar",
                                                     "rabi_al_awwal",
                                                     "rabi_al_thani",
                                                     "jumada_al_ula",
                                                     "jumada_al_akhirah",
                                                     "rajab",
                                                     "shaban",
                                                     "ramadan",
                                                     "shawwal",
                                                     "dhu_al_qadah",
                                                     "dhu_al_hijjah"};
  return keys;
}

std::optional<int> hijri_month_from_name(std::string_view name) {
  if (!name.empty() && name.size() <= 2 &&
      name.find_first_not_of("0123456789") == std::string_view::npos) {
    int m = 0;
    for (char ch : name) m = m * 10 + (ch - '0');
    if (m >= 1 && m <= 12) return m;
    return std::nullopt;
  }
  std::string lower(name);
  for (char& ch : lower)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  for (int m = 1; m <= 12; ++m) {
    if (lower == hijri_month_keys()[m] || name == hijri_month_names_ar()[m]) return m;
  }
  return std::nullopt;
}

nlohmann::json hijri_json(HijriDate h) {
  return nlohmann::json{{"date", h.iso()}, {"text", {{"ar", h.text_ar()}, {"en", h.text_en()}}}};
}

nlohmann::json hijri_json(std::int64_t ms) {
  return hijri_json(to_hijri(riyadh_date(ms)));
}

}  // namespace tawasul::node
