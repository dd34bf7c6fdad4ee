// The staff action decoder (POST /api/v1/cases/{tn}/actions/{action}): the
// action's name and its JSON body, applied by NodeStore::act_on_case to a
// real case in a real store, in a write transaction that is then aborted
// (nothing is kept, so every input meets the same cases).
// Input: "<case 0-2> <action>" ~~~ "<JSON body>" (fuzz_util.hpp).
// Contract: nothing throws; a known name parses back to itself; the answer
// is the case's new view or a 4xx with a code — never a 500, which would
// mean a client's bytes broke the fold.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/crypto.hpp"
#include "fuzz_util.hpp"
#include "node/cases.hpp"
#include "node/identity.hpp"
#include "node/node_store.hpp"
#include "node/workflow.hpp"
#include "storage/env.hpp"

namespace {

using nlohmann::json;
namespace node = tawasul::node;
namespace storage = tawasul::storage;

// 2026-03-01 06:00 UTC, 09:00 in Riyadh: inside working hours.
constexpr std::int64_t kNowMs = 1'772'344'800'000;

// Runs `fn` in a write transaction and aborts it, returning what fn said.
node::Result<json> aborted_write(node::NodeStore& store,
                                 const std::function<node::Result<json>(storage::WriteTxn&)>& fn) {
  node::Result<json> out = std::unexpected(node::Error::internal("not run"));
  (void)store.env().write([&](storage::WriteTxn& txn) -> storage::Result<void> {
    out = fn(txn);
    return std::unexpected(storage::Error{storage::ErrorCode::kInvalid, "aborted by design"});
  });
  return out;
}

node::Result<json> committed_write(
    node::NodeStore& store, const std::function<node::Result<json>(storage::WriteTxn&)>& fn) {
  node::Result<json> out = std::unexpected(node::Error::internal("not run"));
  auto written = store.env().write([&](storage::WriteTxn& txn) -> storage::Result<void> {
    out = fn(txn);
    if (!out) return std::unexpected(storage::Error{storage::ErrorCode::kInvalid, "refused"});
    return {};
  });
  if (!written && out) return std::unexpected(node::Error::internal(written.error().message));
  return out;
}

node::FilingRequest sample_request() {
  node::FilingRequest r;
  r.type = "complaint";
  r.subject = "تأخر صرف المكافأة";
  r.description = "لم تصرف مكافأة الشهر حتى الآن.";
  r.channel = "portal";
  r.beneficiary.name = "محمد العتيبي";
  r.beneficiary.phone = "+966501234567";
  return r;
}

// A node store in a temporary directory holding three cases: submitted, in
// progress, answered — so that most actions meet a state that allows them.
struct Site {
  std::filesystem::path dir;
  std::unique_ptr<node::NodeStore> store;
  std::vector<std::string> cases;

  Site() {
    FUZZ_CHECK(tawasul::crypto::initialize());
    std::string templ = (std::filesystem::temp_directory_path() / "tawasul-fuzz-XXXXXX").string();
    FUZZ_CHECK(mkdtemp(templ.data()) != nullptr);
    dir = templ;
    auto identity = node::create_identity(dir, node::Role::kNode, "KSU");
    FUZZ_CHECK(identity.has_value());
    auto opened = node::NodeStore::open(dir, *identity);
    FUZZ_CHECK(opened.has_value());
    store = std::move(*opened);
    for (int i = 0; i < 3; ++i) cases.push_back(file());
    act(cases[1], node::CaseAction::kStart, {{"assignee", "emp"}});
    act(cases[2], node::CaseAction::kStart, {{"assignee", "emp"}});
    act(cases[2], node::CaseAction::kAnswer, {{"answer", "صرفت المكافأة اليوم."}});
  }
  ~Site() {
    store.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  std::string file() {
    auto receipt = committed_write(*store, [&](storage::WriteTxn& txn) {
      return store->file_case(txn, sample_request(), kNowMs);
    });
    FUZZ_CHECK(receipt.has_value());
    return (*receipt)["tracking_number"].get<std::string>();
  }
  // Best effort: a case whose move is refused stays where it was, and the
  // inputs still meet it there.
  void act(const std::string& tn, node::CaseAction action, const json& fields) {
    auto done = committed_write(*store, [&](storage::WriteTxn& txn) {
      return store->act_on_case(txn, tn, action, "emp", fields, kNowMs);
    });
    if (!done) std::fprintf(stderr, "set-up: %s\n", done.error().message.c_str());
  }
};

// The body as the HTTP layer reads it: empty is {}, anything else must be a
// JSON object (what object_body refuses never reaches the store).
std::optional<json> object_body(std::string_view body) {
  if (body.empty()) return json::object();
  json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Site site;
  const auto parts = tawasul::fuzz::split_parts({reinterpret_cast<const char*>(data), size}, 2);
  const std::string_view head = parts[0];
  if (head.size() < 2 || head[1] != ' ' || parts.size() < 2) return 0;
  const std::string& tracking = site.cases[static_cast<unsigned char>(head[0]) % site.cases.size()];
  auto action = node::parse_action(head.substr(2));
  if (!action) return 0;
  FUZZ_CHECK(node::action_name(*action) == head.substr(2));
  auto fields = object_body(parts[1]);
  if (!fields) return 0;
  if (*action == node::CaseAction::kStart && !fields->contains("assignee"))
    (*fields)["assignee"] = "emp";
  auto done = aborted_write(*site.store, [&](storage::WriteTxn& txn) {
    return site.store->act_on_case(txn, tracking, *action, "emp", *fields, kNowMs);
  });
  if (!done) {
    FUZZ_CHECK(tawasul::fuzz::is_client_error(done.error()));
    return 0;
  }
  FUZZ_CHECK(done->is_object() && (*done)["status"].is_string());
  FUZZ_CHECK(!done->dump().empty());
  return 0;
}
