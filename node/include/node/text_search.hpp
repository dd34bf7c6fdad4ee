// Text folding for the staff queue's search, Arabic first.
//
// Folding makes the spellings people actually type compare equal:
//   1. NFKC normalisation (presentation forms such as ﻻ become لا; fullwidth
//      Latin and digits become ASCII);
//   2. full Unicode case folding (ReSuLt → result, ß → ss);
//   3. Arabic marks are dropped: tashkeel U+064B–U+065F, superscript alef
//      U+0670 and the other combining marks of the Arabic blocks (Quranic
//      annotation marks, honorifics), and tatweel U+0640;
//   4. Arabic letter variants are unified: آ أ إ ٱ → ا, ؤ → و, ئ → ي, ة → ه,
//      ى → ي, Persian ی → ي, keheh ک → ك;
//   5. every decimal digit (Arabic-Indic ٠–٩, extended ۰–۹, …) becomes ASCII 0–9;
//   6. invisible format characters (RLM/LRM, ALM, ZWJ/ZWNJ, BOM, soft hyphen)
//      are dropped, so they never split or change a word;
//   7. everything that is not a letter, mark or digit — whitespace, controls,
//      punctuation (، ؛ ؟ included) and symbols — separates words.
//
// Thread safety: every function here is pure and may be called concurrently
// from any number of threads (ICU's NFKC instance is an immutable singleton).
// Nothing throws for bad input: invalid UTF-8 or an ICU failure gives empty
// results, as described per function.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tawasul::node {

// Bounds on search_tokens.
inline constexpr std::size_t kMaxSearchTokenBytes = 64;
inline constexpr std::size_t kMaxSearchTokens = 512;

// Folds UTF-8 text as described above; returns the folded words joined by one
// ASCII space, with no leading or trailing space. Invalid UTF-8 input (or an
// ICU failure) yields an empty string.
std::string fold_for_search(std::string_view utf8);

// The distinct folded words of `utf8`, in order of first appearance, each at
// most kMaxSearchTokenBytes bytes (longer words are cut at a code point
// boundary; words equal after the cut count once), at most kMaxSearchTokens
// tokens (later words are ignored). Invalid UTF-8 yields no tokens.
std::vector<std::string> search_tokens(std::string_view utf8);

// True when every token of `query` is a prefix of some token of `text`, both
// folded; "مكاف" matches "مكافأة الطلاب". The text is tokenised with
// search_tokens, so its bounds apply; query words are cut at the same byte
// bound but not limited in number. A query with no tokens (empty, or only
// punctuation or marks) matches everything; a query that is not valid UTF-8
// matches nothing; text that is not valid UTF-8 matches only such empty queries.
// A text word also matches when the query word is a prefix of it without its
// definite article (ال, وال, بال, فال, كال, لل): "مكافاه" finds "المكافأة".
bool matches_query(std::string_view text, std::string_view query);

}  // namespace tawasul::node
