#include "node/access.hpp"

namespace tawasul::node {

bool role_allows(StaffRole role, CaseAction action) {
  using A = CaseAction;
  switch (role) {
    case StaffRole::kUnitHead:
      // An objection is reviewed above the employee who answered.
      if (action == A::kAssign || action == A::kDecideObjection) return true;
      [[fallthrough]];
    case StaffRole::kEmployee:
      return action == A::kStart || action == A::kRequestInfo || action == A::kAwaitThirdParty ||
             action == A::kThirdPartyReplied || action == A::kAnswer || action == A::kReject ||
             action == A::kTransfer || action == A::kAddNote || action == A::kReply ||
             action == A::kEscalate;
    case StaffRole::kCoordinator:
      return action == A::kAssign || action == A::kTransfer || action == A::kReject ||
             action == A::kAddNote || action == A::kReply || action == A::kDecideObjection ||
             action == A::kEscalate;
    case StaffRole::kAuditor:
    case StaffRole::kCallCentreAgent:
    case StaffRole::kNodeAdmin:
      return false;
  }
  return false;
}

bool role_reads(StaffRole role) {
  return role == StaffRole::kEmployee || role == StaffRole::kUnitHead ||
         role == StaffRole::kCoordinator || role == StaffRole::kAuditor;
}

bool role_attaches(StaffRole role) {
  return role == StaffRole::kEmployee || role == StaffRole::kUnitHead ||
         role == StaffRole::kCoordinator;
}

bool AccessPolicy::in_scope(const StaffMember& member, const CaseScope& scope) const {
  if (member.disabled) return false;
  if (scope.confidential && !member.confidential) return false;
  const std::string_view unit = scope.unit.empty() ? std::string_view(root_) : scope.unit;
  return in_subtree_(unit, member.unit);
}

bool AccessPolicy::may_read(const StaffMember& member, const CaseScope& scope) const {
  bool reader = false;
  for (StaffRole r : member.roles) reader = reader || role_reads(r);
  return reader && in_scope(member, scope);
}

bool AccessPolicy::may_act(const StaffMember& member, CaseAction action,
                           const CaseScope& scope) const {
  bool allowed = false;
  for (StaffRole r : member.roles) allowed = allowed || role_allows(r, action);
  return allowed && in_scope(member, scope);
}

bool AccessPolicy::may_attach(const StaffMember& member, const CaseScope& scope) const {
  bool allowed = false;
  for (StaffRole r : member.roles) allowed = allowed || role_attaches(r);
  return allowed && may_read(member, scope);
}

}  // namespace tawasul::node
