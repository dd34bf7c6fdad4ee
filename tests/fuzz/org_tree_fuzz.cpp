// The org-tree file parser (`tawasul org load`, deploy/org/README.md):
// OrgTree::parse_text. Contract: nothing throws; a refusal is a 400
// ("malformed_json" or "invalid_org_tree", whose message starts with the
// path it names); an accepted tree re-encodes (to_json) to a document that
// parses to the same tree.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_util.hpp"
#include "node/org_tree.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto tree = tawasul::node::OrgTree::parse_text(text);
  if (!tree) {
    const auto& e = tree.error();
    FUZZ_CHECK(tawasul::fuzz::is_client_error(e) && e.status == 400);
    FUZZ_CHECK(e.code == "malformed_json" || e.code == "invalid_org_tree");
    FUZZ_CHECK(e.field.empty() || e.message.starts_with(e.field));
    return 0;
  }
  const auto document = tree->to_json();
  auto again = tawasul::node::OrgTree::parse(document);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->to_json() == document);
  auto from_text = tawasul::node::OrgTree::parse_text(document.dump());
  FUZZ_CHECK(from_text.has_value() && from_text->to_json() == document);
  return 0;
}
