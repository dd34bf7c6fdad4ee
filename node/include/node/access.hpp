// Who may do what to a case: the access rules of a node, in one place.
//
// A staff member acts through their roles, on cases whose unit lies in the
// subtree of their own unit; a confidential case needs the member's
// confidential grant as well. An unassigned case belongs to the node's root
// unit. Beneficiaries act only on their own case (tracking number + access
// code): answering a question (provide_info) and accepting an answer (close).
//
//   role               reads cases   actions
//   employee           yes           start, request_info, answer, reject, transfer, add_note, reply
//   unit_head          yes           the employee's, and assign
//   coordinator        yes           assign, transfer, reject, add_note, reply
//   auditor            yes           none (read-only)
//   call_centre_agent  no            none (files cases on behalf of callers)
//   node_admin         no            none (manages staff and the org tree)
//
// Attachments (attachments.hpp): everyone who may read a case may download
// its files; adding one takes a role that acts on cases — employee,
// unit_head, coordinator — within scope, or the beneficiary's access code
// while the case is not closed. Auditors read and download only.
#pragma once

#include <functional>
#include <string_view>

#include "node/staff.hpp"
#include "node/workflow.hpp"

namespace tawasul::node {

// True when `unit` is `ancestor` or lies below it.
using InSubtree = std::function<bool(std::string_view unit, std::string_view ancestor)>;

struct CaseScope {
  std::string_view unit;  // empty: not assigned yet, i.e. the node's root unit
  bool confidential = false;
};

bool role_allows(StaffRole role, CaseAction action);
bool role_reads(StaffRole role);
bool role_attaches(StaffRole role);

class AccessPolicy {
 public:
  AccessPolicy(std::string root_unit, InSubtree in_subtree)
      : root_(std::move(root_unit)), in_subtree_(std::move(in_subtree)) {}
  bool may_read(const StaffMember& member, const CaseScope& scope) const;
  bool may_act(const StaffMember& member, CaseAction action, const CaseScope& scope) const;
  // Adds a file to the case: a role that attaches, one that reads, in scope.
  bool may_attach(const StaffMember& member, const CaseScope& scope) const;

 private:
  bool in_scope(const StaffMember& member, const CaseScope& scope) const;
  std::string root_;
  InSubtree in_subtree_;
};

}  // namespace tawasul::node
