#include "node/workflow.hpp"

namespace tawasul::node {

std::string_view status_name(CaseStatus status) {
  switch (status) {
    case CaseStatus::kSubmitted:
      return "submitted";
    case CaseStatus::kAssigned:
      return "assigned";
    case CaseStatus::kInProgress:
      return "in_progress";
    case CaseStatus::kWaitingForBeneficiary:
      return "waiting_for_beneficiary";
    case CaseStatus::kWaitingForThirdParty:
      return "waiting_for_third_party";
    case CaseStatus::kAnswered:
      return "answered";
    case CaseStatus::kObjectionReview:
      return "objection_review";
    case CaseStatus::kClosed:
      return "closed";
  }
  return "?";
}

std::string_view action_name(CaseAction action) {
  switch (action) {
    case CaseAction::kAssign:
      return "assign";
    case CaseAction::kStart:
      return "start";
    case CaseAction::kRequestInfo:
      return "request_info";
    case CaseAction::kProvideInfo:
      return "provide_info";
    case CaseAction::kAnswer:
      return "answer";
    case CaseAction::kReject:
      return "reject";
    case CaseAction::kTransfer:
      return "transfer";
    case CaseAction::kClose:
      return "close";
    case CaseAction::kAddNote:
      return "add_note";
    case CaseAction::kReply:
      return "reply";
    case CaseAction::kObject:
      return "object";
    case CaseAction::kDecideObjection:
      return "decide_objection";
    case CaseAction::kEscalate:
      return "escalate";
    case CaseAction::kAwaitThirdParty:
      return "await_third_party";
    case CaseAction::kThirdPartyReplied:
      return "third_party_replied";
  }
  return "?";
}

std::string_view event_kind(CaseAction action) {
  switch (action) {
    case CaseAction::kAssign:
      return "case.assigned";
    case CaseAction::kStart:
      return "case.started";
    case CaseAction::kRequestInfo:
      return "case.info_requested";
    case CaseAction::kProvideInfo:
      return "case.info_provided";
    case CaseAction::kAnswer:
      return "case.answered";
    case CaseAction::kReject:
      return "case.rejected";
    case CaseAction::kTransfer:
      return "case.transferred";
    case CaseAction::kClose:
      return "case.closed";
    case CaseAction::kAddNote:
      return "case.note_added";
    case CaseAction::kReply:
      return "case.replied";
    case CaseAction::kObject:
      return "case.objected";
    case CaseAction::kDecideObjection:
      return "case.objection_decided";
    case CaseAction::kEscalate:
      return "case.escalated";
    case CaseAction::kAwaitThirdParty:
      return "case.third_party_awaited";
    case CaseAction::kThirdPartyReplied:
      return "case.third_party_replied";
  }
  return "?";
}

std::optional<CaseStatus> parse_status(std::string_view name) {
  for (CaseStatus s : kAllStatuses) {
    if (status_name(s) == name) return s;
  }
  return std::nullopt;
}

std::optional<CaseAction> parse_action(std::string_view name) {
  for (CaseAction a : kAllActions) {
    if (action_name(a) == name) return a;
  }
  return std::nullopt;
}

std::optional<CaseAction> action_of_event(std::string_view kind) {
  for (CaseAction a : kAllActions) {
    if (event_kind(a) == kind) return a;
  }
  return std::nullopt;
}

// The transition table. Everything not listed is refused.
std::optional<CaseStatus> next_status(CaseStatus status, CaseAction action) {
  using S = CaseStatus;
  using A = CaseAction;
  if (status == S::kClosed) return std::nullopt;
  switch (action) {
    case A::kAddNote:
    case A::kReply:
      return status;
    case A::kAssign:
      if (status == S::kSubmitted || status == S::kAssigned) return S::kAssigned;
      return std::nullopt;
    case A::kTransfer:
      if (status == S::kAssigned || status == S::kInProgress) return S::kAssigned;
      return std::nullopt;
    case A::kStart:
      if (status == S::kAssigned) return S::kInProgress;
      return std::nullopt;
    case A::kRequestInfo:
      if (status == S::kInProgress) return S::kWaitingForBeneficiary;
      return std::nullopt;
    case A::kProvideInfo:
      if (status == S::kWaitingForBeneficiary) return S::kInProgress;
      return std::nullopt;
    case A::kAnswer:
      if (status == S::kInProgress) return S::kAnswered;
      return std::nullopt;
    case A::kReject:
      if (status == S::kSubmitted || status == S::kAssigned || status == S::kInProgress) {
        return S::kAnswered;
      }
      return std::nullopt;
    case A::kClose:
      if (status == S::kAnswered) return S::kClosed;
      return std::nullopt;
    case A::kObject:
      if (status == S::kAnswered) return S::kObjectionReview;
      return std::nullopt;
    case A::kDecideObjection:
      if (status == S::kObjectionReview) return S::kAnswered;
      return std::nullopt;
    case A::kEscalate:
      if (status == S::kSubmitted || status == S::kAssigned || status == S::kInProgress) {
        return S::kAssigned;
      }
      // A late review of an objection climbs too, and stays a review.
      if (status == S::kObjectionReview) return S::kObjectionReview;
      if (status == S::kWaitingForThirdParty) return S::kWaitingForThirdParty;
      return std::nullopt;
    case A::kAwaitThirdParty:
      if (status == S::kInProgress) return S::kWaitingForThirdParty;
      return std::nullopt;
    case A::kThirdPartyReplied:
      if (status == S::kWaitingForThirdParty) return S::kInProgress;
      return std::nullopt;
  }
  return std::nullopt;
}

std::vector<CaseAction> allowed_actions(CaseStatus status) {
  std::vector<CaseAction> out;
  for (CaseAction a : kAllActions) {
    if (next_status(status, a)) out.push_back(a);
  }
  return out;
}

Error refusal(CaseStatus status, CaseAction action) {
  std::string allowed;
  for (CaseAction a : allowed_actions(status)) {
    if (!allowed.empty()) allowed += ", ";
    allowed += action_name(a);
  }
  return Error::conflict("transition_not_allowed",
                         "cannot " + std::string(action_name(action)) + " a case that is " +
                             std::string(status_name(status)) + "; it allows: " +
                             (allowed.empty() ? std::string("nothing") : allowed));
}

}  // namespace tawasul::node
