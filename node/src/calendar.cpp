// The calendar file and the working calendar (node/calendar.hpp).
#include "node/calendar.hpp"

#include <unicode/utf8.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>

#include "calendar_defaults.hpp"
#include "node/time_util.hpp"

namespace tawasul::node {

namespace {

constexpr std::size_t kMaxFileBytes = 1 << 20;
constexpr std::size_t kMaxRules = 200;
constexpr std::size_t kMaxOverrides = 2000;
constexpr int kMaxSpanDays = 60;
constexpr int kMaxOverrideDays = 366;
constexpr std::size_t kMaxNameBytes = 200;
constexpr std::int64_t kMinuteMs = 60'000;

const std::array<std::string_view, 7> kWeekdays{"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

std::int64_t range_first_day() {
  return CivilDate{kMinYear, 1, 1}.days();
}
std::int64_t range_last_day() {
  return CivilDate{kMaxYear, 12, 31}.days();
}

Error refusal(const Provenance& at, const std::string& message) {
  return Error::bad_request("bad_calendar",
                            at.source + " line " + std::to_string(at.line) + ": " + message);
}

// "line 5" when `other` is in the same file as `at`, else "saudi.conf line 5".
std::string where(const Provenance& at, const Provenance& other) {
  if (at.source == other.source) return "line " + std::to_string(other.line);
  return other.source + " line " + std::to_string(other.line);
}

bool valid_utf8_line(std::string_view s) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(s.data());
  const auto length = static_cast<int32_t>(s.size());
  int32_t i = 0;
  while (i < length) {
    UChar32 c = 0;
    U8_NEXT(bytes, i, length, c);
    if (c < 0 || c < 0x20 || c == 0x7F) return false;
  }
  return true;
}

struct Token {
  std::string text;
  bool quoted = false;
};

// Splits a line into words and "quoted strings"; `#` outside quotes starts a
// comment. An error message when a quote is not closed.
std::expected<std::vector<Token>, std::string> tokenize(std::string_view line) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  while (i < line.size()) {
    char ch = line[i];
    if (ch == ' ' || ch == '\t') {
      ++i;
      continue;
    }
    if (ch == '#') break;
    if (ch == '"') {
      auto close = line.find('"', i + 1);
      if (close == std::string_view::npos) return std::unexpected("unterminated quoted name");
      tokens.push_back({std::string(line.substr(i + 1, close - i - 1)), true});
      i = close + 1;
      if (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '#')
        return std::unexpected("a quoted name must be followed by a space");
      continue;
    }
    std::size_t end = i;
    while (end < line.size() && line[end] != ' ' && line[end] != '\t' && line[end] != '#' &&
           line[end] != '"')
      ++end;
    tokens.push_back({std::string(line.substr(i, end - i)), false});
    i = end;
  }
  return tokens;
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

int to_int(std::string_view s) {
  int v = 0;
  for (char ch : s) v = v * 10 + (ch - '0');
  return v;
}

std::optional<int> parse_clock(std::string_view s) {  // "08:00" → 480; "24:00" allowed
  if (s.size() != 5 || s[2] != ':' || !all_digits(s.substr(0, 2)) || !all_digits(s.substr(3, 2)))
    return std::nullopt;
  int h = to_int(s.substr(0, 2));
  int m = to_int(s.substr(3, 2));
  if (m > 59 || h > 24 || (h == 24 && m != 0)) return std::nullopt;
  return h * 60 + m;
}

std::string clock_text(int minutes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d", minutes / 60, minutes % 60);
  return buf;
}

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 40) return false;
  return std::all_of(id.begin(), id.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
  });
}

bool fixed_date_ok(int month, int day) {
  // Every year: 02-29 is refused with the impossible ones.
  return CivilDate::make(2027, month, day).has_value();
}

// The Gregorian day spans [first, last] (days since the epoch) of a rule's
// occurrences that may touch kMinYear..kMaxYear.
std::vector<std::pair<std::int64_t, std::int64_t>> occurrences(const HolidayRule& rule) {
  std::vector<std::pair<std::int64_t, std::int64_t>> spans;
  const std::int64_t lo = range_first_day();
  const std::int64_t hi = range_last_day();
  if (rule.kind == HolidayKind::kFixed) {
    for (int y = kMinYear - 1; y <= kMaxYear; ++y) {
      auto d = CivilDate::make(y, rule.month, rule.day);
      if (!d) continue;
      std::int64_t first = d->days();
      std::int64_t last = first + rule.days - 1;
      if (last >= lo && first <= hi) spans.emplace_back(first, last);
    }
  } else {
    const int hy_first = to_hijri(CivilDate{kMinYear, 1, 1}).year - 1;
    const int hy_last = to_hijri(CivilDate{kMaxYear, 12, 31}).year;
    for (int hy = hy_first; hy <= hy_last; ++hy) {
      auto d = from_hijri(HijriDate{hy, rule.month, rule.day});
      if (!d) continue;
      std::int64_t first = d->days();
      std::int64_t last = first + rule.days - 1;
      if (last >= lo && first <= hi) spans.emplace_back(first, last);
    }
  }
  return spans;
}

// Two rules of the same kind covering one day in some year: refused, naming
// the later rule (by position in `rules`, i.e. file order).
Result<void> check_rule_overlaps(const std::vector<HolidayRule>& rules) {
  for (HolidayKind kind : {HolidayKind::kFixed, HolidayKind::kHijri}) {
    struct Span {
      std::int64_t first, last;
      std::size_t rule;
    };
    std::vector<Span> spans;
    for (std::size_t i = 0; i < rules.size(); ++i) {
      if (rules[i].kind != kind) continue;
      for (auto [first, last] : occurrences(rules[i])) spans.push_back({first, last, i});
    }
    std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
      return a.first != b.first ? a.first < b.first : a.rule < b.rule;
    });
    for (std::size_t i = 1; i < spans.size(); ++i) {
      // Spans are at most kMaxSpanDays long, so only neighbours within that can meet.
      for (std::size_t j = i; j-- > 0;) {
        if (spans[i].first - spans[j].first > kMaxSpanDays) break;
        if (spans[j].last < spans[i].first || spans[j].rule == spans[i].rule) continue;
        const HolidayRule& a = rules[std::min(spans[i].rule, spans[j].rule)];
        const HolidayRule& b = rules[std::max(spans[i].rule, spans[j].rule)];
        return std::unexpected(refusal(b.at, std::string(holiday_kind_name(kind)) + " holiday '" +
                                                 b.id + "' overlaps '" + a.id + "' (" +
                                                 where(b.at, a.at) + ") on " +
                                                 CivilDate::from_days(spans[i].first).iso()));
      }
    }
  }
  return {};
}

// The overrides of one file must not share a day (two closures, two opens, or
// an open and a close).
Result<void> check_override_overlaps(const std::vector<DateOverride>& overrides) {
  std::vector<std::size_t> order(overrides.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return overrides[a].first != overrides[b].first ? overrides[a].first < overrides[b].first
                                                    : a < b;
  });
  for (std::size_t k = 1; k < order.size(); ++k) {
    for (std::size_t j = 0; j < k; ++j) {
      const DateOverride& x = overrides[order[j]];
      const DateOverride& y = overrides[order[k]];
      if (x.last < y.first) continue;
      const DateOverride& early = order[j] < order[k] ? x : y;
      const DateOverride& late = order[j] < order[k] ? y : x;
      return std::unexpected(refusal(
          late.at, std::string(late.working ? "open" : "close") + " dates overlap the " +
                       (early.working ? "open" : "close") + " at " + where(late.at, early.at) +
                       " on " + std::max(x.first, y.first).iso()));
    }
  }
  return {};
}

Result<void> check_names(const Provenance& at, const std::vector<Token>& names) {
  for (const auto& n : names) {
    if (!n.quoted)
      return std::unexpected(refusal(at, "names must be \"quoted\" (got " + n.text + ")"));
    bool blank = n.text.find_first_not_of(' ') == std::string::npos;
    if (blank) return std::unexpected(refusal(at, "a name must not be blank"));
    if (n.text.size() > kMaxNameBytes)
      return std::unexpected(refusal(at, "a name is longer than 200 bytes"));
    if (!valid_utf8_line(n.text))
      return std::unexpected(refusal(at, "a name is not valid UTF-8 text"));
  }
  return {};
}

}  // namespace

std::optional<int> weekday_from_name(std::string_view name) {
  for (int i = 0; i < 7; ++i)
    if (kWeekdays[i] == name) return i;
  return std::nullopt;
}

std::string_view weekday_name(int weekday) {
  return weekday >= 0 && weekday < 7 ? kWeekdays[weekday] : std::string_view("?");
}

std::string WorkingHours::text() const {
  return clock_text(start_minute) + "-" + clock_text(end_minute);
}

std::string_view holiday_kind_name(HolidayKind kind) {
  switch (kind) {
    case HolidayKind::kFixed:
      return "fixed";
    case HolidayKind::kHijri:
      return "hijri";
    case HolidayKind::kClosure:
      return "closure";
  }
  return "?";
}

Result<CalendarFile> CalendarFile::parse(std::string_view text, std::string_view source) {
  CalendarFile file;
  const std::string src(source);
  if (text.size() > kMaxFileBytes)
    return std::unexpected(
        Error::bad_request("bad_calendar", src + ": the file is larger than 1 MiB"));
  Provenance weekend_at;
  Provenance hours_at;
  std::map<std::string, Provenance> ids;
  int line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_no == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);  // BOM
    const Provenance at{src, line_no};
    for (char ch : line) {
      auto u = static_cast<unsigned char>(ch);
      if ((u < 0x20 && ch != '\t') || u == 0x7F)
        return std::unexpected(refusal(at, "control character in the line"));
    }
    auto tokens = tokenize(line);
    if (!tokens) return std::unexpected(refusal(at, tokens.error()));
    if (tokens->empty()) continue;
    const Token& keyword = tokens->front();
    auto args = std::vector<Token>(tokens->begin() + 1, tokens->end());

    if (keyword.quoted) return std::unexpected(refusal(at, "a line must start with a keyword"));
    const std::string& kw = keyword.text;

    if (kw == "weekend") {
      if (file.weekend)
        return std::unexpected(refusal(at, "weekend given twice (" + where(at, weekend_at) + ")"));
      std::array<bool, 7> days{};
      for (const auto& a : args) {
        auto d = a.quoted ? std::nullopt : weekday_from_name(a.text);
        if (!d)
          return std::unexpected(
              refusal(at, "unknown weekday '" + a.text + "' (sun mon tue wed thu fri sat)"));
        if (days[*d]) return std::unexpected(refusal(at, "weekday '" + a.text + "' repeated"));
        days[*d] = true;
      }
      if (std::all_of(days.begin(), days.end(), [](bool b) { return b; }))
        return std::unexpected(refusal(at, "a weekend of all seven days leaves no working day"));
      file.weekend = days;
      weekend_at = at;
    } else if (kw == "hours") {
      if (file.hours)
        return std::unexpected(refusal(at, "hours given twice (" + where(at, hours_at) + ")"));
      if (args.size() != 1 || args[0].quoted)
        return std::unexpected(refusal(at, "hours takes one HH:MM-HH:MM range"));
      const std::string& r = args[0].text;
      auto dash = r.find('-');
      auto start = dash == std::string::npos ? std::nullopt : parse_clock(r.substr(0, dash));
      auto end = dash == std::string::npos ? std::nullopt : parse_clock(r.substr(dash + 1));
      if (!start || !end)
        return std::unexpected(
            refusal(at, "bad hours '" + r + "' (HH:MM-HH:MM, e.g. 08:00-15:00)"));
      if (*start >= *end)
        return std::unexpected(
            refusal(at, "bad hours '" + r + "': the start is not before the end"));
      file.hours = WorkingHours{*start, *end};
      hours_at = at;
    } else if (kw == "fixed" || kw == "hijri") {
      HolidayRule rule;
      rule.kind = kw == "fixed" ? HolidayKind::kFixed : HolidayKind::kHijri;
      rule.at = at;
      std::size_t i = 0;
      if (args.empty() || args[0].quoted)
        return std::unexpected(
            refusal(at, kw + " needs a date (" + (kw == "fixed" ? "MM-DD" : "MONTH-DD") + ")"));
      const std::string& date = args[i++].text;
      auto dash = date.rfind('-');
      std::string month_part = dash == std::string::npos ? date : date.substr(0, dash);
      std::string day_part = dash == std::string::npos ? "" : date.substr(dash + 1);
      if (rule.kind == HolidayKind::kFixed) {
        if (date.size() != 5 || dash != 2 || !all_digits(month_part) || !all_digits(day_part))
          return std::unexpected(refusal(at, "bad date '" + date + "' (MM-DD)"));
        rule.month = to_int(month_part);
        rule.day = to_int(day_part);
        if (rule.month == 2 && rule.day == 29)
          return std::unexpected(refusal(at, "02-29 does not occur every year"));
        if (!fixed_date_ok(rule.month, rule.day))
          return std::unexpected(refusal(at, "impossible date '" + date + "'"));
      } else {
        if (dash == std::string::npos || month_part.empty() || !all_digits(day_part) ||
            day_part.size() > 2)
          return std::unexpected(
              refusal(at, "bad Hijri date '" + date + "' (MONTH-DD, e.g. 10-01 or shawwal-01)"));
        auto month = hijri_month_from_name(month_part);
        if (!month) return std::unexpected(refusal(at, "unknown Hijri month '" + month_part + "'"));
        rule.month = *month;
        rule.day = to_int(day_part);
        if (rule.day == 30)
          return std::unexpected(
              refusal(at,
                      "Hijri day 30 does not occur every year (a month has 29 or 30 days); "
                      "start from day 29 or from the 1st of the next month"));
        if (rule.day < 1 || rule.day > 30)
          return std::unexpected(refusal(at, "impossible Hijri date '" + date + "'"));
      }
      if (i < args.size() && !args[i].quoted && args[i].text.starts_with('+')) {
        std::string n = args[i++].text.substr(1);
        if (!all_digits(n) || n.size() > 3 || to_int(n) < 1 || to_int(n) > kMaxSpanDays)
          return std::unexpected(refusal(at, "bad span '+" + n + "' (+1 to +60 days)"));
        rule.days = to_int(n);
      }
      if (i >= args.size() || args[i].quoted || !valid_id(args[i].text))
        return std::unexpected(
            refusal(at, "a holiday needs an id of 1-40 characters of a-z 0-9 _ after its date"));
      rule.id = args[i++].text;
      if (rule.id == "closure")
        return std::unexpected(refusal(at, "'closure' is reserved for close lines"));
      if (auto seen = ids.find(rule.id); seen != ids.end())
        return std::unexpected(refusal(
            at, "duplicate holiday id '" + rule.id + "' (" + where(at, seen->second) + ")"));
      std::vector<Token> names(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      if (names.size() != 2)
        return std::unexpected(refusal(at, "a holiday needs two names: \"Arabic\" \"English\""));
      if (auto ok = check_names(at, names); !ok) return std::unexpected(ok.error());
      rule.name_ar = names[0].text;
      rule.name_en = names[1].text;
      if (file.rules.size() >= kMaxRules)
        return std::unexpected(refusal(at, "more than 200 holiday rules"));
      ids.emplace(rule.id, at);
      file.rules.push_back(std::move(rule));
    } else if (kw == "close" || kw == "open") {
      DateOverride o;
      o.working = kw == "open";
      o.at = at;
      std::size_t i = 0;
      std::vector<CivilDate> dates;
      while (i < args.size() && !args[i].quoted && dates.size() < 2) {
        auto d = CivilDate::parse(args[i].text);
        if (!d) {
          bool shaped =
              args[i].text.size() == 10 && args[i].text[4] == '-' && args[i].text[7] == '-';
          return std::unexpected(refusal(
              at, (shaped ? "impossible date '" : "bad date '") + args[i].text + "' (YYYY-MM-DD)"));
        }
        dates.push_back(*d);
        ++i;
      }
      if (dates.empty())
        return std::unexpected(refusal(at, kw + " needs a date: YYYY-MM-DD [YYYY-MM-DD]"));
      o.first = dates[0];
      o.last = dates.size() > 1 ? dates[1] : dates[0];
      if (o.last < o.first)
        return std::unexpected(refusal(at, "the last date is before the first"));
      if (o.first.year < kMinYear || o.last.year > kMaxYear)
        return std::unexpected(refusal(at, "dates outside the calendar's years 1900..2100"));
      if (o.last.days() - o.first.days() + 1 > kMaxOverrideDays)
        return std::unexpected(refusal(at, "more than 366 days in one " + kw));
      std::vector<Token> names(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      if (!o.working && names.size() != 2)
        return std::unexpected(refusal(at, "close needs two names: \"Arabic\" \"English\""));
      if (o.working && names.size() != 2 && !names.empty())
        return std::unexpected(refusal(at, "open takes no names or two: \"Arabic\" \"English\""));
      if (auto ok = check_names(at, names); !ok) return std::unexpected(ok.error());
      if (!names.empty()) {
        o.name_ar = names[0].text;
        o.name_en = names[1].text;
      }
      if (file.overrides.size() >= kMaxOverrides)
        return std::unexpected(refusal(at, "more than 2000 overrides"));
      file.overrides.push_back(std::move(o));
    } else {
      return std::unexpected(
          refusal(at, "unknown keyword '" + kw + "' (weekend, hours, fixed, hijri, close, open)"));
    }
  }
  if (auto ok = check_rule_overlaps(file.rules); !ok) return std::unexpected(ok.error());
  if (auto ok = check_override_overlaps(file.overrides); !ok) return std::unexpected(ok.error());
  return file;
}

Result<CalendarFile> CalendarFile::layer(const CalendarFile& base, const CalendarFile& local) {
  CalendarFile merged;
  merged.weekend = local.weekend ? local.weekend : base.weekend;
  merged.hours = local.hours ? local.hours : base.hours;
  merged.rules = base.rules;
  for (const auto& rule : local.rules) {
    auto same = std::find_if(merged.rules.begin(), merged.rules.end(),
                             [&](const HolidayRule& r) { return r.id == rule.id; });
    if (same != merged.rules.end()) {
      *same = rule;
    } else {
      merged.rules.push_back(rule);
    }
  }
  if (merged.rules.size() > kMaxRules)
    return std::unexpected(Error::bad_request("bad_calendar", "more than 200 holiday rules"));
  // Overlaps are reported on the later rule; keep file order (base first) for that.
  if (auto ok = check_rule_overlaps(merged.rules); !ok) return std::unexpected(ok.error());
  merged.overrides = base.overrides;
  merged.overrides.insert(merged.overrides.end(), local.overrides.begin(), local.overrides.end());
  return merged;
}

// ------------------------------------------------------------ WorkingCalendar

Result<std::shared_ptr<const WorkingCalendar>> WorkingCalendar::build(const CalendarFile& file) {
  auto bad = [](const std::string& m) {
    return std::unexpected(Error::bad_request("bad_calendar", m));
  };
  std::shared_ptr<WorkingCalendar> cal(new WorkingCalendar());
  cal->file_ = file;
  cal->hours_ = file.hours.value_or(WorkingHours{});
  if (file.weekend) {
    cal->weekend_ = *file.weekend;
  } else {
    cal->weekend_[5] = cal->weekend_[6] = true;  // Friday, Saturday
  }
  if (cal->hours_.start_minute < 0 || cal->hours_.start_minute >= cal->hours_.end_minute ||
      cal->hours_.end_minute > 24 * 60)
    return bad("bad working hours");
  if (std::all_of(cal->weekend_.begin(), cal->weekend_.end(), [](bool b) { return b; }))
    return bad("a weekend of all seven days leaves no working day");

  cal->first_day_ = range_first_day();
  const std::int64_t count = range_last_day() - cal->first_day_ + 1;
  cal->working_.assign(static_cast<std::size_t>(count), 1);
  for (std::int64_t i = 0; i < count; ++i) {
    if (cal->weekend_[CivilDate::from_days(cal->first_day_ + i).weekday()]) cal->working_[i] = 0;
  }
  auto mark = [&](std::int64_t first, std::int64_t last, std::uint8_t value) {
    for (std::int64_t d = std::max(first, cal->first_day_);
         d <= std::min(last, cal->first_day_ + count - 1); ++d)
      cal->working_[static_cast<std::size_t>(d - cal->first_day_)] = value;
  };
  for (const auto& rule : file.rules) {
    bool ok = rule.days >= 1 && rule.days <= kMaxSpanDays &&
              (rule.kind == HolidayKind::kFixed
                   ? fixed_date_ok(rule.month, rule.day) && !(rule.month == 2 && rule.day == 29)
                   : rule.kind == HolidayKind::kHijri && rule.month >= 1 && rule.month <= 12 &&
                         rule.day >= 1 && rule.day <= 29);
    if (!ok) return bad("bad holiday rule '" + rule.id + "'");
    for (auto [first, last] : occurrences(rule)) {
      mark(first, last, 0);
      cal->holidays_.push_back(Holiday{rule.kind, rule.id, rule.name_ar, rule.name_en,
                                       CivilDate::from_days(first), CivilDate::from_days(last),
                                       rule.at});
    }
  }
  for (const auto& o : file.overrides) {
    if (o.last < o.first || o.first.year < kMinYear || o.last.year > kMaxYear)
      return bad("bad override dates");
    mark(o.first.days(), o.last.days(), o.working ? 1 : 0);
    if (!o.working) {
      cal->holidays_.push_back(
          Holiday{HolidayKind::kClosure, "closure", o.name_ar, o.name_en, o.first, o.last, o.at});
    }
  }
  std::stable_sort(cal->holidays_.begin(), cal->holidays_.end(),
                   [](const Holiday& a, const Holiday& b) { return a.first < b.first; });
  return std::shared_ptr<const WorkingCalendar>(std::move(cal));
}

Result<std::shared_ptr<const WorkingCalendar>> WorkingCalendar::load(
    const std::vector<Layer>& layers) {
  if (layers.empty())
    return std::unexpected(Error::bad_request("bad_calendar", "no calendar file given"));
  std::optional<CalendarFile> merged;
  for (const auto& layer : layers) {
    auto file = CalendarFile::parse(layer.text, layer.source);
    if (!file) return std::unexpected(file.error());
    if (!merged) {
      merged = std::move(*file);
    } else {
      auto m = CalendarFile::layer(*merged, *file);
      if (!m) return std::unexpected(m.error());
      merged = std::move(*m);
    }
  }
  return build(*merged);
}

bool WorkingCalendar::off_in_range(std::int64_t day) const {
  return working_[static_cast<std::size_t>(day - first_day_)] == 0;
}

bool WorkingCalendar::is_working_day(CivilDate date) const {
  const std::int64_t day = date.days();
  if (day >= first_day_ && day < first_day_ + static_cast<std::int64_t>(working_.size()))
    return !off_in_range(day);
  return !weekend_[date.weekday()];
}

CivilDate WorkingCalendar::next_working_day(CivilDate date) const {
  // Terminates: outside the resolved years only the weekend applies, and the
  // weekend never covers all seven days.
  std::int64_t day = date.days();
  do {
    ++day;
  } while (!is_working_day(CivilDate::from_days(day)));
  return CivilDate::from_days(day);
}

std::vector<Holiday> WorkingCalendar::holidays(int gregorian_year) const {
  std::vector<Holiday> out;
  if (gregorian_year < kMinYear || gregorian_year > kMaxYear) return out;
  const CivilDate first{gregorian_year, 1, 1};
  const CivilDate last{gregorian_year, 12, 31};
  for (const auto& h : holidays_) {
    if (h.last < first || h.first > last) continue;
    out.push_back(h);
  }
  return out;
}

std::vector<DateOverride> WorkingCalendar::opened(int gregorian_year) const {
  std::vector<DateOverride> out;
  const CivilDate first{gregorian_year, 1, 1};
  const CivilDate last{gregorian_year, 12, 31};
  for (const auto& o : file_.overrides)
    if (o.working && !(o.last < first || o.first > last)) out.push_back(o);
  return out;
}

int WorkingCalendar::working_days(int gregorian_year, int month) const {
  int count = 0;
  const int m_first = month == 0 ? 1 : month;
  const int m_last = month == 0 ? 12 : month;
  auto first = CivilDate::make(gregorian_year, m_first, 1);
  if (!first || m_last < 1 || m_last > 12) return 0;
  std::int64_t end = m_last == 12 ? CivilDate{gregorian_year + 1, 1, 1}.days()
                                  : CivilDate{gregorian_year, m_last + 1, 1}.days();
  for (std::int64_t d = first->days(); d < end; ++d)
    if (is_working_day(CivilDate::from_days(d))) ++count;
  return count;
}

std::int64_t WorkingCalendar::add_working_days(std::int64_t from_ms, int n) const {
  CivilDate day = riyadh_date(from_ms);
  const std::int64_t close_ms = riyadh_midnight_ms(day) + hours_.end_minute * kMinuteMs;
  if (!is_working_day(day) || from_ms >= close_ms) day = next_working_day(day);
  for (int i = 0; i < n; ++i) day = next_working_day(day);
  return riyadh_midnight_ms(day) + hours_.end_minute * kMinuteMs;
}

std::int64_t WorkingCalendar::working_ms_between(std::int64_t a, std::int64_t b) const {
  if (b <= a) return 0;
  const std::int64_t first = floor_div(a + kRiyadhOffsetMs, kDayMs);
  const std::int64_t last = floor_div(b - 1 + kRiyadhOffsetMs, kDayMs);
  std::int64_t total = 0;
  for (std::int64_t d = first; d <= last; ++d) {
    CivilDate date = CivilDate::from_days(d);
    if (!is_working_day(date)) continue;
    const std::int64_t midnight = d * kDayMs - kRiyadhOffsetMs;
    const std::int64_t lo = std::max(a, midnight + hours_.start_minute * kMinuteMs);
    const std::int64_t hi = std::min(b, midnight + hours_.end_minute * kMinuteMs);
    if (hi > lo) total += hi - lo;
  }
  return total;
}

std::int64_t WorkingCalendar::add_working_ms(std::int64_t from, std::int64_t ms) const {
  if (ms <= 0) return from;
  std::int64_t d = floor_div(from + kRiyadhOffsetMs, kDayMs);
  for (;; ++d) {
    if (!is_working_day(CivilDate::from_days(d))) continue;
    const std::int64_t midnight = d * kDayMs - kRiyadhOffsetMs;
    const std::int64_t lo = std::max(from, midnight + hours_.start_minute * kMinuteMs);
    const std::int64_t hi = midnight + hours_.end_minute * kMinuteMs;
    if (hi <= lo) continue;
    if (ms <= hi - lo) return lo + ms;
    ms -= hi - lo;
  }
}

// ------------------------------------------------------------ CalendarHolder

CalendarHolder::CalendarHolder(std::shared_ptr<const WorkingCalendar> initial)
    : current_(std::move(initial)) {}

std::shared_ptr<const WorkingCalendar> CalendarHolder::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

Result<std::shared_ptr<const WorkingCalendar>> CalendarHolder::reload(
    const std::vector<WorkingCalendar::Layer>& layers) {
  auto loaded = WorkingCalendar::load(layers);
  if (!loaded) return std::unexpected(loaded.error());
  std::lock_guard lock(mutex_);
  current_ = *loaded;
  return *loaded;
}

std::string_view national_calendar_text() {
  return calendar_defaults::kSaudi;
}

std::shared_ptr<const WorkingCalendar> national_calendar() {
  static const std::shared_ptr<const WorkingCalendar> calendar = [] {
    auto loaded = WorkingCalendar::load({{national_calendar_text(), "saudi.conf"}});
    if (!loaded)
      throw std::logic_error("the compiled-in saudi.conf is refused: " + loaded.error().message);
    return *loaded;
  }();
  return calendar;
}

}  // namespace tawasul::node
