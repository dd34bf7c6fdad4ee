#include "node/text_search.hpp"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace tawasul::node {

namespace {

// Strict UTF-8 → UTF-16: ill-formed input (bad or truncated sequences,
// overlong forms, encoded surrogates, values past U+10FFFF) is refused rather
// than replaced with U+FFFD.
std::optional<icu::UnicodeString> decode_utf8(std::string_view utf8) {
  if (utf8.size() > static_cast<std::size_t>(std::numeric_limits<int32_t>::max())) {
    return std::nullopt;
  }
  icu::UnicodeString text;
  if (utf8.empty()) return text;
  // A UTF-8 sequence never needs more UTF-16 units than it has bytes.
  const auto capacity = static_cast<int32_t>(utf8.size());
  char16_t* buffer = text.getBuffer(capacity);
  if (buffer == nullptr) return std::nullopt;
  UErrorCode status = U_ZERO_ERROR;
  int32_t length = 0;
  u_strFromUTF8(buffer, capacity, &length, utf8.data(), capacity, &status);
  text.releaseBuffer(U_SUCCESS(status) ? length : 0);
  if (U_FAILURE(status) || text.isBogus()) return std::nullopt;
  return text;
}

// Presentation forms whose NFKC mapping is a space followed by a mark (e.g.
// U+FE70 → U+0020 U+064B). Dropped before normalising, so that a diacritic
// typed as a presentation form does not split its word.
bool is_spacing_mark_form(UChar32 c) {
  return (c >= 0xFE70 && c <= 0xFE7F && c != 0xFE73) || (c >= 0xFC5E && c <= 0xFC63);
}

bool in_arabic_blocks(UChar32 c) {
  return (c >= 0x0600 && c <= 0x06FF) || (c >= 0x0750 && c <= 0x077F) ||
         (c >= 0x0870 && c <= 0x08FF) || (c >= 0xFB50 && c <= 0xFDFF) ||
         (c >= 0xFE70 && c <= 0xFEFF);
}

// Code points that vanish: tatweel, Arabic combining marks (tashkeel
// U+064B–U+065F, superscript alef U+0670, Quranic and honorific marks) and
// invisible format characters (bidi marks, ZWJ/ZWNJ, BOM, soft hyphen).
bool is_ignored(UChar32 c, int8_t type) {
  if (c == 0x0640) return true;
  if (type == U_FORMAT_CHAR) return true;
  return type == U_NON_SPACING_MARK && in_arabic_blocks(c);
}

// Whitespace, controls, punctuation and symbols separate words.
bool is_separator(int8_t type) {
  switch (type) {
    case U_SPACE_SEPARATOR:
    case U_LINE_SEPARATOR:
    case U_PARAGRAPH_SEPARATOR:
    case U_CONTROL_CHAR:
    case U_DASH_PUNCTUATION:
    case U_START_PUNCTUATION:
    case U_END_PUNCTUATION:
    case U_CONNECTOR_PUNCTUATION:
    case U_OTHER_PUNCTUATION:
    case U_INITIAL_PUNCTUATION:
    case U_FINAL_PUNCTUATION:
    case U_MATH_SYMBOL:
    case U_CURRENCY_SYMBOL:
    case U_MODIFIER_SYMBOL:
    case U_OTHER_SYMBOL:
      return true;
    default:
      return false;
  }
}

// Arabic letter variants that searchers do not tell apart.
UChar32 unify_letter(UChar32 c) {
  switch (c) {
    case 0x0622:      // آ alef with madda above
    case 0x0623:      // أ alef with hamza above
    case 0x0625:      // إ alef with hamza below
    case 0x0671:      // ٱ alef wasla
      return 0x0627;  // ا
    case 0x0624:      // ؤ waw with hamza above
      return 0x0648;  // و
    case 0x0626:      // ئ yeh with hamza above
    case 0x0649:      // ى alef maqsura
    case 0x06CC:      // ی Farsi yeh
      return 0x064A;  // ي
    case 0x0629:      // ة taa marbuta
      return 0x0647;  // ه
    case 0x06A9:      // ک keheh
      return 0x0643;  // ك
    default:
      return c;
  }
}

// The folded text, words joined by one ASCII space; nullopt when the input is
// not valid UTF-8 or ICU fails.
std::optional<std::string> fold(std::string_view utf8) {
  auto decoded = decode_utf8(utf8);
  if (!decoded) return std::nullopt;

  icu::UnicodeString source;
  for (int32_t i = 0; i < decoded->length();) {
    const UChar32 c = decoded->char32At(i);
    i += U16_LENGTH(c);
    if (!is_spacing_mark_form(c)) source.append(c);
  }
  if (source.isBogus()) return std::nullopt;

  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(status);
  if (U_FAILURE(status) || nfkc == nullptr) return std::nullopt;
  icu::UnicodeString normalized = nfkc->normalize(source, status);
  if (U_FAILURE(status) || normalized.isBogus()) return std::nullopt;
  normalized.foldCase(U_FOLD_CASE_DEFAULT);
  if (normalized.isBogus()) return std::nullopt;

  icu::UnicodeString folded;
  bool pending_space = false;
  for (int32_t i = 0; i < normalized.length();) {
    UChar32 c = normalized.char32At(i);
    i += U16_LENGTH(c);
    const auto type = static_cast<int8_t>(u_charType(c));
    if (is_ignored(c, type)) continue;
    if (is_separator(type)) {
      pending_space = !folded.isEmpty();
      continue;
    }
    if (type == U_DECIMAL_DIGIT_NUMBER) {
      const int32_t digit = u_charDigitValue(c);
      if (digit >= 0 && digit <= 9) c = 0x30 + digit;
    } else {
      c = unify_letter(c);
    }
    if (pending_space) {
      folded.append(static_cast<char16_t>(0x20));
      pending_space = false;
    }
    folded.append(c);
  }
  if (folded.isBogus()) return std::nullopt;
  // Dropping characters can bring together code points that compose (e.g. "e",
  // ZWNJ, U+0301 → "é"); normalising once more keeps folding idempotent and
  // equal spellings equal.
  const icu::UnicodeString result = nfkc->normalize(folded, status);
  if (U_FAILURE(status) || result.isBogus()) return std::nullopt;

  std::string out;
  result.toUTF8String(out);
  return out;
}

// `word` cut to at most kMaxSearchTokenBytes bytes at a code point boundary.
std::string_view cut_word(std::string_view word) {
  if (word.size() <= kMaxSearchTokenBytes) return word;
  std::size_t end = kMaxSearchTokenBytes;
  while (end > 0 && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80) --end;
  return word.substr(0, end);
}

// Calls `visit` with each distinct cut word of `folded`, in order of first
// appearance, until it returns false.
template <typename Visit>
void for_each_distinct_word(std::string_view folded, Visit visit) {
  std::unordered_set<std::string_view> seen;
  std::size_t start = 0;
  while (start < folded.size()) {
    std::size_t end = folded.find(' ', start);
    if (end == std::string_view::npos) end = folded.size();
    const std::string_view word = cut_word(folded.substr(start, end - start));
    start = end + 1;
    if (word.empty() || !seen.insert(word).second) continue;
    if (!visit(word)) return;
  }
}

}  // namespace

std::string fold_for_search(std::string_view utf8) {
  auto folded = fold(utf8);
  return folded ? std::move(*folded) : std::string();
}

std::vector<std::string> search_tokens(std::string_view utf8) {
  std::vector<std::string> tokens;
  const auto folded = fold(utf8);
  if (!folded) return tokens;
  for_each_distinct_word(*folded, [&](std::string_view word) {
    tokens.emplace_back(word);
    return tokens.size() < kMaxSearchTokens;
  });
  return tokens;
}

namespace {

// A word without its leading definite article (ال, and وال, بال, فال, كال,
// لل), so that "مكافاه" finds "المكافأة"; the word itself when it has none or
// when too little would remain.
std::string_view without_article(std::string_view word) {
  static constexpr std::string_view kArticles[] = {
      "\xD9\x88\xD8\xA7\xD9\x84",  // وال
      "\xD8\xA8\xD8\xA7\xD9\x84",  // بال
      "\xD9\x81\xD8\xA7\xD9\x84",  // فال
      "\xD9\x83\xD8\xA7\xD9\x84",  // كال
      "\xD8\xA7\xD9\x84",          // ال
      "\xD9\x84\xD9\x84",          // لل
  };
  for (std::string_view article : kArticles) {
    // At least two letters (4 bytes of Arabic) must remain.
    if (word.starts_with(article) && word.size() >= article.size() + 4)
      return word.substr(article.size());
  }
  return word;
}

}  // namespace

bool matches_query(std::string_view text, std::string_view query) {
  const auto folded_query = fold(query);
  if (!folded_query) return false;
  if (folded_query->empty()) return true;
  const std::vector<std::string> text_tokens = search_tokens(text);
  bool all_found = true;
  for_each_distinct_word(*folded_query, [&](std::string_view word) {
    all_found = std::any_of(text_tokens.begin(), text_tokens.end(), [&](const std::string& token) {
      return token.starts_with(word) || without_article(token).starts_with(word);
    });
    return all_found;
  });
  return all_found;
}

}  // namespace tawasul::node
