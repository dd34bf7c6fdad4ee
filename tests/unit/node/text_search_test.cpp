// Unit tests for search folding, tokens and matching (node/text_search.hpp).
#include <catch2/catch.hpp>

#include <cstddef>
#include <string>
#include <thread>
#include <vector>

#include "node/text_search.hpp"

namespace {

namespace node = tawasul::node;
using node::fold_for_search;
using node::matches_query;
using node::search_tokens;
using Tokens = std::vector<std::string>;

// `s` repeated `n` times.
std::string repeat(const std::string& s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

// True when the lead bytes of `s` step exactly to its end (no cut sequence at the end).
bool ends_on_code_point_boundary(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    const std::size_t len = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    i += len;
  }
  return i == s.size();
}

}  // namespace

// ---------------------------------------------------------------------------
// Folding rules, one at a time.

TEST_CASE("Arabic tashkeel is ignored", "[search][fold]") {
  CHECK(fold_for_search("مُدَرِّسَة") == fold_for_search("مدرسه"));
  CHECK(fold_for_search("مُدَرِّسَة") == "مدرسه");
  CHECK(fold_for_search("الطُّلَّابُ") == "الطلاب");
  CHECK(fold_for_search("كِتَابٌ") == "كتاب");
}

TEST_CASE("every tashkeel mark U+064B to U+065F is ignored inside a word", "[search][fold]") {
  for (char32_t mark = 0x064B; mark <= 0x065F; ++mark) {
    // Two-byte UTF-8 for U+0600..U+07FF.
    std::string encoded;
    encoded += static_cast<char>(0xC0 | (mark >> 6));
    encoded += static_cast<char>(0x80 | (mark & 0x3F));
    INFO("U+" << std::hex << static_cast<unsigned>(mark));
    CHECK(fold_for_search("ب" + encoded + "ت") == "بت");
  }
}

TEST_CASE("superscript alef is ignored", "[search][fold]") {
  CHECK(fold_for_search("هٰذا") == "هذا");
  CHECK(fold_for_search("الرَّحْمٰن") == "الرحمن");
}

TEST_CASE("Quranic annotation and honorific marks are ignored", "[search][fold]") {
  CHECK(fold_for_search("محمد\u0610") == "محمد");          // sallallahou alayhe wassallam
  CHECK(fold_for_search("قال\u06D6 الله") == "قال الله");  // small high ligature sad
}

TEST_CASE("tatweel is ignored", "[search][fold]") {
  CHECK(fold_for_search("طـــالب") == fold_for_search("طالب"));
  CHECK(fold_for_search("طـــالب") == "طالب");
  CHECK(fold_for_search("ـمرحباـ") == "مرحبا");
}

TEST_CASE("alef forms fold to bare alef", "[search][fold]") {
  CHECK(fold_for_search("إجازة") == fold_for_search("اجازه"));
  CHECK(fold_for_search("أحمد") == "احمد");        // hamza above
  CHECK(fold_for_search("إبراهيم") == "ابراهيم");  // hamza below
  CHECK(fold_for_search("آمنة") == "امنه");        // madda
  CHECK(fold_for_search("ٱلرحمن") == "الرحمن");    // wasla
}

TEST_CASE("alef with a combining hamza or madda folds like the precomposed letter",
          "[search][fold]") {
  CHECK(fold_for_search("\u0627\u0654حمد") == "احمد");    // ا + hamza above → أ → ا
  CHECK(fold_for_search("\u0627\u0653منة") == "امنه");    // ا + madda → آ → ا
  CHECK(fold_for_search("مس\u0648\u0654ول") == "مسوول");  // و + hamza above → ؤ → و
}

TEST_CASE("hamza on waw folds to waw", "[search][fold]") {
  CHECK(fold_for_search("مسؤول") == fold_for_search("مسوول"));
  CHECK(fold_for_search("مسؤول") == "مسوول");
  CHECK(fold_for_search("مؤسسة") == "موسسه");
}

TEST_CASE("hamza on yaa folds to yaa", "[search][fold]") {
  CHECK(fold_for_search("رئيس") == "رييس");
  CHECK(fold_for_search("هيئة") == fold_for_search("هييه"));
}

TEST_CASE("taa marbuta folds to haa", "[search][fold]") {
  CHECK(fold_for_search("مدرسة") == "مدرسه");
  CHECK(fold_for_search("جامعة") == fold_for_search("جامعه"));
}

TEST_CASE("alef maqsura folds to yaa", "[search][fold]") {
  CHECK(fold_for_search("مستشفى") == fold_for_search("مستشفي"));
  CHECK(fold_for_search("مستشفى") == "مستشفي");
  CHECK(fold_for_search("مصطفى") == "مصطفي");
}

TEST_CASE("Persian yeh and keheh fold to Arabic yaa and kaf", "[search][fold]") {
  CHECK(fold_for_search("علی") == "علي");
  CHECK(fold_for_search("کتاب") == "كتاب");
  CHECK(fold_for_search("کرسی") == fold_for_search("كرسي"));
}

TEST_CASE("Arabic-Indic digits fold to ASCII", "[search][fold]") {
  CHECK(fold_for_search("٢٠٢٥") == "2025");
  CHECK(fold_for_search("٠١٢٣٤٥٦٧٨٩") == "0123456789");
  CHECK(fold_for_search("۰۱۲۳۴۵۶۷۸۹") == "0123456789");  // extended (Persian/Urdu)
  CHECK(fold_for_search("۱۴۴۶") == fold_for_search("١٤٤٦"));
  CHECK(fold_for_search("العام ٢٠٢٥م") == "العام 2025م");
}

TEST_CASE("NFKC comes first: presentation forms and fullwidth forms fold", "[search][fold]") {
  CHECK(fold_for_search("ﻻ") == "لا");
  CHECK(fold_for_search("ﻻ") == fold_for_search("لا"));
  CHECK(fold_for_search("ﷲ") == "الله");
  CHECK(fold_for_search("ﻣﺪﺭﺳﺔ") == "مدرسه");  // contextual forms, then taa marbuta
  CHECK(fold_for_search("ＫＳＵ２６") == "ksu26");
}

TEST_CASE("a diacritic written as a presentation form does not split its word", "[search][fold]") {
  // NFKC maps these to a space and the mark: U+FE72 → "\u0020\u064C".
  CHECK(fold_for_search("مدرس\uFE72ة") == "مدرسه");  // dammatan isolated form
  CHECK(fold_for_search("ب\uFE76ت") == "بت");        // fatha isolated form
  CHECK(fold_for_search("ب\uFC60ت") == "بت");        // shadda with fatha isolated form
}

TEST_CASE("Latin letters are case-folded", "[search][fold]") {
  CHECK(fold_for_search("ReSuLt") == "result");
  CHECK(fold_for_search("KSU-26-0000042-7") == "ksu 26 0000042 7");
  CHECK(fold_for_search("Straße") == fold_for_search("STRASSE"));
}

TEST_CASE("invisible format characters are dropped without splitting words", "[search][fold]") {
  CHECK(fold_for_search("\u200Fطالب\u200E") == "طالب");  // RLM, LRM
  CHECK(fold_for_search("\u061Cطالب") == "طالب");        // Arabic letter mark
  CHECK(fold_for_search("\uFEFFطالب") == "طالب");        // BOM
  CHECK(fold_for_search("می\u200Cخواهم") == "ميخواهم");  // ZWNJ
}

TEST_CASE("letters brought together by dropped characters still compose", "[search][fold]") {
  CHECK(fold_for_search("cafe\u200C\u0301") == fold_for_search("café"));  // ZWNJ before the accent
}

TEST_CASE("folding folded text changes nothing", "[search][fold]") {
  for (const char* text : {"مُدَرِّسَة إجازة، مستشفى؟ ٢٠٢٥", "ReSuLt Straße ﻻ ﷲ", "cafe\u200C\u0301"}) {
    const std::string once = fold_for_search(text);
    CHECK(fold_for_search(once) == once);
  }
}

// ---------------------------------------------------------------------------
// Separators.

TEST_CASE("Arabic comma, semicolon and question mark separate words", "[search][separators]") {
  CHECK(fold_for_search("طالب،معلم") == "طالب معلم");
  CHECK(fold_for_search("طالب؛معلم") == "طالب معلم");
  CHECK(fold_for_search("طالب؟معلم") == "طالب معلم");
  CHECK(fold_for_search("أين الطالب؟") == "اين الطالب");
  CHECK(search_tokens("مدرسة،جامعة؛كلية؟") == Tokens{"مدرسه", "جامعه", "كليه"});
}

TEST_CASE("ASCII punctuation and symbols separate words", "[search][separators]") {
  CHECK(fold_for_search("a.b,c;d:e!f?g(h)i\"j'k") == "a b c d e f g h i j k");
  CHECK(fold_for_search("a+b=c$d") == "a b c d");
  CHECK(fold_for_search("«طالب»") == "طالب");
}

TEST_CASE("runs of separators collapse to one space and the result is trimmed",
          "[search][separators]") {
  CHECK(fold_for_search("  طالب \t\n\r  معلم  ") == "طالب معلم");
  CHECK(fold_for_search("، طالب ؛؛ معلم ؟") == "طالب معلم");
  CHECK(fold_for_search("طالب\u00A0\u2003معلم") == "طالب معلم");  // no-break and em spaces
}

TEST_CASE("text of only separators or only marks folds to nothing", "[search][separators]") {
  CHECK(fold_for_search("").empty());
  CHECK(fold_for_search("   \t\n").empty());
  CHECK(fold_for_search("،؛؟...!!!").empty());
  CHECK(fold_for_search("ـــ ًٌٍ").empty());
  CHECK(search_tokens("؟ ، ؛").empty());
}

// ---------------------------------------------------------------------------
// Invalid input.

TEST_CASE("invalid UTF-8 yields empty results", "[search][invalid]") {
  const std::vector<std::string> invalid = {
      "\xC3",                       // truncated two-byte sequence
      "\xD8",                       // truncated Arabic letter
      "طالب\xFF",                   // never valid byte after valid text
      "\xC0\x80",                   // overlong NUL
      "\xE0\x80\xAF",               // overlong '/'
      "\xED\xA0\x80",               // encoded surrogate
      "\xF4\x90\x80\x80",           // past U+10FFFF
      "\x80 continuation first",    // stray continuation byte
      std::string("ok\0\xFE", 4)};  // invalid after an embedded NUL
  for (const auto& text : invalid) {
    INFO("input bytes: " << text.size());
    CHECK(fold_for_search(text).empty());
    CHECK(search_tokens(text).empty());
  }
}

TEST_CASE("an embedded NUL is a separator, not an error", "[search][invalid]") {
  CHECK(fold_for_search(std::string("طالب\0معلم", 17)) == "طالب معلم");
}

// ---------------------------------------------------------------------------
// search_tokens.

TEST_CASE("search tokens are the distinct folded words in order of first appearance",
          "[search][tokens]") {
  CHECK(search_tokens("طالب معلم طالب الطالب") == Tokens{"طالب", "معلم", "الطالب"});
  CHECK(search_tokens("Result result RESULT") == Tokens{"result"});
  CHECK(search_tokens("") == Tokens{});
}

TEST_CASE("search tokens are deduplicated after folding", "[search][tokens]") {
  CHECK(search_tokens("مدرسة مدرسه مَدْرَسَة ﻣﺪﺭﺳﺔ") == Tokens{"مدرسه"});
  CHECK(search_tokens("إجازة اجازه، أجازة") == Tokens{"اجازه"});
  CHECK(search_tokens("٢٠٢٥ 2025 ۲۰۲۵") == Tokens{"2025"});
}

TEST_CASE("a search token is at most 64 bytes, cut at a code point boundary", "[search][tokens]") {
  SECTION("ASCII word") {
    const auto tokens = search_tokens(repeat("x", 100));
    REQUIRE(tokens.size() == 1);
    CHECK(tokens[0] == repeat("x", 64));
  }
  SECTION("Arabic word, cut on an even byte count") {
    const auto tokens = search_tokens(repeat("ب", 40));  // 80 bytes
    REQUIRE(tokens.size() == 1);
    CHECK(tokens[0] == repeat("ب", 32));
  }
  SECTION("Arabic word whose 64th byte would split a letter") {
    const auto tokens = search_tokens("a" + repeat("ب", 40));  // 81 bytes
    REQUIRE(tokens.size() == 1);
    CHECK(tokens[0] == "a" + repeat("ب", 31));  // 63 bytes
    CHECK(ends_on_code_point_boundary(tokens[0]));
  }
  SECTION("word of four-byte letters") {
    const auto tokens = search_tokens("ab" + repeat("𠀀", 20));  // U+20000, 82 bytes
    REQUIRE(tokens.size() == 1);
    CHECK(tokens[0] == "ab" + repeat("𠀀", 15));  // 62 bytes
    CHECK(ends_on_code_point_boundary(tokens[0]));
  }
  SECTION("word of three-byte letters") {
    const auto tokens = search_tokens(repeat("ｶ", 30));  // NFKC → カ, 3 bytes each
    REQUIRE(tokens.size() == 1);
    CHECK(tokens[0] == repeat("カ", 21));  // 63 bytes
  }
  SECTION("a word of exactly 64 bytes is kept whole") {
    CHECK(search_tokens(repeat("ب", 32)) == Tokens{repeat("ب", 32)});
  }
  SECTION("long words equal in their first 64 bytes count once") {
    const std::string stem = repeat("ب", 32);
    CHECK(search_tokens(stem + "ت " + stem + "ث") == Tokens{stem});
  }
}

TEST_CASE("at most 512 search tokens are kept, the first ones", "[search][tokens]") {
  std::string text;
  for (int i = 0; i < 600; ++i) text += "w" + std::to_string(i) + " ";
  const auto tokens = search_tokens(text);
  REQUIRE(tokens.size() == node::kMaxSearchTokens);
  CHECK(tokens.front() == "w0");
  CHECK(tokens.back() == "w511");
}

TEST_CASE("repeated words do not count towards the 512-token bound", "[search][tokens]") {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "طالب ";
  text += "معلم";
  CHECK(search_tokens(text) == Tokens{"طالب", "معلم"});
}

// ---------------------------------------------------------------------------
// matches_query.

TEST_CASE("a query word matches as a prefix of a text word", "[search][match]") {
  CHECK(matches_query("مكافأة الطلاب", "مكاف"));
  CHECK(matches_query("مكافأة الطلاب", "الطل"));
  CHECK(matches_query("مكافأة الطلاب", "مكافأة"));
  CHECK(matches_query("KSU-26-0000042-7", "ksu"));
  CHECK(matches_query("KSU-26-0000042-7", "0000042"));
}

TEST_CASE("every query word must match, in any order", "[search][match]") {
  CHECK(matches_query("مكافأة الطلاب المتفوقين", "الطلاب مكافأة"));
  CHECK(matches_query("مكافأة الطلاب المتفوقين", "المتف مكا"));
  CHECK_FALSE(matches_query("مكافأة الطلاب المتفوقين", "مكافأة منحة"));
}

TEST_CASE("query and text are folded before matching", "[search][match]") {
  SECTION("diacritics in the query") {
    CHECK(matches_query("مكافأة الطلاب", "مُكَافَأَة"));
    CHECK(matches_query("مكافأة الطلاب", "الطُّلَّاب"));
  }
  SECTION("diacritics in the text") {
    CHECK(matches_query("مُكَافَأَةُ الطُّلَّابِ", "مكافاه"));
  }
  SECTION("alef, taa marbuta and alef maqsura variants") {
    CHECK(matches_query("طلب إجازة مرضية", "اجازه"));
    CHECK(matches_query("طلب اجازه مرضيه", "إجازة"));
    CHECK(matches_query("تحويل إلى مستشفى الملك فهد", "مستشفي"));
  }
  SECTION("hamza seats and tatweel") {
    CHECK(matches_query("مسؤول شؤون الطلاب", "مسوول"));
    CHECK(matches_query("طـــالب", "طالب"));
  }
  SECTION("digits in either script") {
    CHECK(matches_query("تقديم ٢٠٢٥", "2025"));
    CHECK(matches_query("تقديم 2025", "٢٠٢٥"));
    CHECK(matches_query("تقديم 2025", "۲۰"));
  }
  SECTION("Latin case") {
    CHECK(matches_query("Scholarship RESULT", "result"));
    CHECK(matches_query("scholarship result", "ReSuLt"));
  }
  SECTION("punctuation in the query separates words") {
    CHECK(matches_query("مكافأة الطلاب", "مكافأة، الطلاب؟"));
  }
}

TEST_CASE("non-matching queries are refused", "[search][match]") {
  CHECK_FALSE(matches_query("مكافأة الطلاب", "منحة"));
  CHECK_FALSE(matches_query("مكافأة الطلاب", "كافأة"));         // inside a word, not a prefix
  CHECK_FALSE(matches_query("مكافأة الطلاب", "مكافأتان"));      // longer than the word
  CHECK_FALSE(matches_query("مكافأة الطلاب", "مكافأةالطلاب"));  // words do not join
  CHECK_FALSE(matches_query("", "طالب"));
  CHECK_FALSE(matches_query("result", "results"));
}

TEST_CASE("an empty query matches everything", "[search][match]") {
  CHECK(matches_query("مكافأة الطلاب", ""));
  CHECK(matches_query("", ""));
  CHECK(matches_query("مكافأة الطلاب", "   "));
  CHECK(matches_query("مكافأة الطلاب", "؟،؛"));  // only separators
  CHECK(matches_query("مكافأة الطلاب", "ًٌٍـ"));    // only marks and tatweel
}

TEST_CASE("invalid UTF-8 never matches a real query", "[search][match][invalid]") {
  CHECK_FALSE(matches_query("مكافأة الطلاب", "مكاف\xFF"));  // invalid query matches nothing
  CHECK_FALSE(matches_query("مكافأة\xFF", "مكاف"));         // invalid text has no words
  CHECK(matches_query("مكافأة\xFF", ""));                   // but the empty query still matches
}

TEST_CASE("a query word longer than 64 bytes matches the same long text word", "[search][match]") {
  const std::string word = repeat("ب", 50);  // 100 bytes
  CHECK(matches_query("كلمة " + word, word));
  CHECK(matches_query("كلمة " + word, repeat("ب", 10)));
}

TEST_CASE("folding is safe to call from several threads at once", "[search][threads]") {
  const std::string text = "مُدَرِّسَة إجازة مستشفى ٢٠٢٥ ReSuLt ﻻ";
  const std::string expected = fold_for_search(text);
  std::vector<std::string> results(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      std::string last;
      for (int i = 0; i < 200; ++i) {
        last = fold_for_search(text);
        if (!matches_query(text, "مدرس اجاز")) last = "mismatch";
      }
      results[t] = last;
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(expected == "مدرسه اجازه مستشفي 2025 result لا");
  for (const auto& result : results) CHECK(result == expected);
}

TEST_CASE("a query word finds a text word behind its definite article", "[search]") {
  using tawasul::node::matches_query;
  CHECK(matches_query("تأخر صرف المكافأة", "مكافاه"));
  CHECK(matches_query("والمكافآت الطلابية", "مكافات"));
  CHECK(matches_query("للطلاب المبتعثين", "طلاب"));
  CHECK(matches_query("بالجامعة", "جامعه"));
  // Too little would remain: "الم" is not read as an article plus one letter.
  CHECK_FALSE(matches_query("الم", "م"));
  CHECK_FALSE(matches_query("المكافأة", "كاف"));
}
