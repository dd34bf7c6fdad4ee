// Shared by the libFuzzer targets (tests/fuzz/README.md): how one input splits
// into parts, and the check that stops a run when a decoder breaks its
// contract. An exception escaping a target ends in std::terminate, which
// libFuzzer reports as a crash like any other.
#pragma once

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "node/error.hpp"

namespace tawasul::fuzz {

// Parts of one input (a request's name and body, a message's frames) are
// separated by this line, so the seed corpus stays readable text.
inline constexpr std::string_view kPartSeparator = "\n~~~\n";

// The first `max_parts - 1` separators split; the last part keeps the rest.
inline std::vector<std::string_view> split_parts(std::string_view data, std::size_t max_parts) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const auto at = data.find(kPartSeparator);
    if (at == std::string_view::npos) break;
    parts.push_back(data.substr(0, at));
    data.remove_prefix(at + kPartSeparator.size());
  }
  parts.push_back(data);
  return parts;
}

[[noreturn]] inline void contract_broken(const char* what, const char* file, int line) {
  std::fprintf(stderr, "fuzz contract broken at %s:%d: %s\n", file, line, what);
  std::abort();  // libFuzzer saves the input as crash-<sha1>
}

// A refusal says what went wrong: a 4xx status, a machine code, a message
// for a person, and its JSON form serialises (no invalid UTF-8 inside).
inline bool is_client_error(const node::Error& e) {
  if (e.status < 400 || e.status > 499 || e.code.empty() || e.message.empty()) return false;
  (void)e.to_json().dump();  // throws (and so crashes the run) on invalid UTF-8
  return true;
}

}  // namespace tawasul::fuzz

// Like assert, but never compiled out: the contract is the test.
#define FUZZ_CHECK(condition) \
  ((condition) ? (void)0 : ::tawasul::fuzz::contract_broken(#condition, __FILE__, __LINE__))
