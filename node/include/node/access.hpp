// Who may do what to a case: the access rules of a node, in one place.
//
// A staff member acts through their roles, on cases whose unit lies in the
// subtree of their own unit (the org tree's, once one is loaded); a
// confidential case needs the member's confidential grant as well. An
// unassigned case belongs to the node's root unit.
//
//   role               reads cases   acts on cases
//   employee           yes           start, request_info, await_third_party,
//                                    third_party_replied, answer, reject, transfer,
//                                    add_note, reply, escalate; attaches files
//   unit_head          yes           the employee's, assign, decide_objection
//   coordinator        yes           assign, transfer, reject, add_note, reply,
//                                    escalate, decide_objection; attaches files
//   auditor            yes           none (reads, and downloads files)
//   call_centre_agent  no            none (files cases for callers: channel call_centre)
//   node_admin         no            none
//
// On the node: a node_admin adds and changes staff accounts and replaces the
// org tree; node_admin and auditor list the staff and read the audit log.
// Every signed-in staff member gets the queue (only the cases they may
// read) and reads the org tree. A refusal of a signed-in member is 403 and
// is written to the audit log (`denied`); no staff session at all is 401.
//
// Beneficiaries act only on their own case, proven by the access code
// (X-Access-Code or ?access_code=) or by the session of the beneficiary
// account the case belongs to (filed while signed in, or claimed with the
// code): read it, answer a question (provide_info: POST …/reply), accept an
// answer (close: POST …/accept), object to it within its window (object:
// POST …/object), add files while it is not closed, download its files. An
// objection is decided by someone other than the author of the answer
// objected to (403 same_reviewer, checked with the case's state). A wrong code or another account
// is the look-up's 404, never 403, so that nobody learns which cases exist; an upload with no
// credential at all is 401. A beneficiary account lists "my cases" and claims a case with its code.
// A session of the other kind counts as none: staff calling the beneficiary's own actions (…/reply,
// …/accept) get the 404 of no code, and "my cases" a 401; a beneficiary's session opens no staff
// endpoint (401). Anyone may file a case.
//
// Attachments (attachments.hpp): everyone who may read a case may download
// its files; adding one takes a role that attaches — employee, unit_head,
// coordinator — within scope, or the beneficiary (code or account).
//
// The whole matrix, actor by endpoint, is tests/unit/node/permission_test.cpp.
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
