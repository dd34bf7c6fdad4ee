// The organisation tree of one node: the sector at the root (a university, an
// education directorate), the departments below it and their sections, and
// the services a beneficiary picks when filing, each routed to the unit that
// is competent for it, and the node's SLA policy (node-wide and per case
// type), which each case resolves once, when it is filed. The path from a
// unit up to the root is the escalation ladder inside the node (DESIGN.md:
// competent employee → unit head → … → head of the sector); above the root
// the ladder continues at the hub.
//
// Owner: the node. It loads the tree at start from the JSON file documented in
// deploy/org/README.md; when the node administrator changes the organisation,
// a new document is parsed into a new OrgTree that replaces the old one as a
// whole. An OrgTree is never edited in place, and a document that breaks any
// rule is refused entirely (400 "invalid_org_tree", the field naming the JSON
// path, e.g. "units[3].parent"), so a half-valid tree never exists.
//
// Thread rules: immutable after parse; every member is const, so one OrgTree
// may be read from any number of threads at once without locking. Share it as
// std::shared_ptr<const OrgTree> and swap the pointer to change it.
//
// Bounds: at most kOrgUnitsMax units, kOrgServicesMax services and a depth of
// kOrgDepthMax below the root (the root has depth 0), so every ladder has at
// most kOrgDepthMax + 1 rungs.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/error.hpp"

namespace tawasul::node {

inline constexpr int kOrgTreeVersion = 1;
inline constexpr std::size_t kOrgUnitsMax = 10'000;
inline constexpr std::size_t kOrgServicesMax = 2'000;
inline constexpr int kOrgDepthMax = 16;  // the root is depth 0
inline constexpr std::size_t kOrgIdBytesMax = 64;
inline constexpr std::size_t kOrgNameCharsMax = 200;              // code points, per language
inline constexpr std::size_t kOrgTreeTextMax = 64 * 1024 * 1024;  // parse_text input, bytes

struct OrgUnit {
  std::string id;                     // [A-Za-z0-9._-]{1,64}, unique in the node
  std::optional<std::string> parent;  // empty only for the root
  std::string name_ar, name_en;
  std::string head_title_ar, head_title_en;  // both empty when the file gives none
  std::string head;                          // the head's staff id; empty when not named
  // The root only: its answers are final — no objection window (the
  // Minister's office at the top of the hub's ladder; node/SLA.md).
  bool final_answer = false;
  std::vector<std::string> children;  // in the order of the file
  int depth = 0;                      // 0 for the root

  bool operator==(const OrgUnit&) const = default;
};

struct Service {
  std::string id;  // [a-z0-9_-]{1,64}, unique in the node
  std::string name_ar, name_en;
  std::string unit;          // the competent unit: cases for this service start there
  std::string default_type;  // a case type (is_case_type)
  // The service's own promise (node/SLA.md), 1..60 working days; 0: the
  // node's default (five working days).
  int answer_working_days = 0;

  bool operator==(const Service&) const = default;
};

// One level of the node's SLA policy (deploy/org/README.md, "sla"): the
// node-wide terms, or one case type's. Every member is in working days
// except warn_percent; 0: not set at this level.
struct SlaTerms {
  int answer_working_days = 0;          // 1..60
  int first_response_working_days = 0;  // 1..60, at most the answer time
  int level_working_days = 0;           // 1..30: each escalation level's window
  int objection_working_days = 0;       // 1..60: the beneficiary's window to object
  int warn_percent = 0;                 // 50..95: the pre-breach warning

  bool operator==(const SlaTerms&) const = default;
};

// The SLA policy of a node: node-wide terms, then per case type. Read only
// when a case is filed: the terms it resolves to are fixed in `case.filed`
// and never looked up again (node/SLA.md, "One rule above the others").
struct SlaPolicy {
  SlaTerms node;
  std::map<std::string, SlaTerms, std::less<>> types;  // case type → its terms
  // Node-wide: does the clock stop while a case waits for a third party?
  // (It always stops while it waits for the beneficiary.)
  bool pause_for_third_party = false;

  bool empty() const { return node == SlaTerms{} && types.empty() && !pause_for_third_party; }
  bool operator==(const SlaPolicy&) const = default;
};

// The SLA fixed into one case when it is filed (`case.filed` `sla`).
struct CaseSla {
  // Where the answer time came from: "service:<id>", "type:<type>", "node"
  // or "default" (the ministry's five working days).
  std::string policy;
  int answer_working_days = 0;
  int first_response_working_days = 0;
  int level_working_days = 0;
  int objection_working_days = 0;
  int warn_percent = 0;
  bool pause_for_third_party = false;

  bool operator==(const CaseSla&) const = default;
};

// The SLA of a case of `type` filed for `service` (empty: none) whose own
// answer time is `service_answer_days` (0: none). The answer time comes from
// the service, else the type, else the node, else the built-in default; the
// other terms from the type, else the node, else the defaults (cases.hpp).
// The first response is never later than the answer. `policy` may be null
// (a node with no org tree): the defaults, or the service's answer time.
CaseSla resolve_sla(const SlaPolicy* policy, std::string_view type, std::string_view service,
                    int service_answer_days);

class OrgTree {
 public:
  // Validates `document` against every rule of deploy/org/README.md. Every
  // refusal is Error 400 "invalid_org_tree" whose field is the JSON path of
  // the first offence found and whose message starts with that path.
  static Result<OrgTree> parse(const nlohmann::json& document);
  // As parse, from the file's text. Text that is not JSON (or not UTF-8) is
  // 400 "malformed_json"; a key repeated inside one object is
  // "invalid_org_tree" (JSON would silently keep only the last one).
  static Result<OrgTree> parse_text(std::string_view text);

  // The same format, units and services in the order they were given;
  // parse(to_json()) gives an equal tree.
  nlohmann::json to_json() const;

  const std::string& root() const { return root_; }
  // nullptr when there is no such unit or service.
  const OrgUnit* unit(std::string_view id) const;
  const Service* service(std::string_view id) const;
  // Units in the order of the file.
  const std::vector<OrgUnit>& units() const { return units_; }
  const std::vector<Service>& services() const { return services_; }
  // The node's SLA policy; empty when the document has no "sla".
  const SlaPolicy& sla() const { return sla_; }

  // True when `unit` is `ancestor` or lies below it; false when either is unknown.
  bool in_subtree(std::string_view unit, std::string_view ancestor) const;
  // `unit`, its parent, …, the root: the escalation ladder inside the node.
  // Empty when `unit` is unknown.
  std::vector<std::string> ladder(std::string_view unit) const;
  // `unit` and every unit below it, in pre-order (children in file order).
  // Empty when `unit` is unknown.
  std::vector<std::string> subtree(std::string_view unit) const;
  // True when `unit` has a head to escalate to: the file names the head's
  // post (head_title) or the person (head). A unit with neither is vacant and
  // the escalation ladder skips it (node/SLA.md).
  bool has_head(std::string_view unit) const;
  // The number of units.
  std::size_t size() const { return units_.size(); }

  friend bool operator==(const OrgTree&, const OrgTree&) = default;

 private:
  OrgTree() = default;

  std::string root_;
  std::vector<OrgUnit> units_;
  std::map<std::string, std::size_t, std::less<>> unit_index_;  // id → units_ position
  std::vector<Service> services_;
  std::map<std::string, std::size_t, std::less<>> service_index_;  // id → services_ position
  SlaPolicy sla_;
};

}  // namespace tawasul::node
