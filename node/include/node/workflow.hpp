// The case lifecycle: one state machine, written down here above its code.
//
//                    assign                 start
//   submitted ───────────────▶ assigned ───────────────▶ in_progress ◀──────────┐
//       │                      │  ▲  │                   │   │   │               │
//       │                      │  └──┘ assign (to a      │   │   │ request_info  │ provide_info
//       │                      │  person), transfer      │   │   ▼               │ (the
//       beneficiary) │                      │  (to another unit)      │   │ waiting_for_beneficiary
//       │                      │                         │   │  (SLA clock paused)
//       │ reject               │ reject                  │   │
//       └──────────────────────┴─────────────────────────┤   │ answer
//                                                        ▼   ▼
//                                                       answered ──close──▶ closed
//                                                        │   ▲
//                       object (the beneficiary, within  │   │ decide_objection (upheld,
//                       the objection window)            ▼   │ partly_upheld, rejected)
//                                                  objection_review
//
//   transfer from in_progress returns the case to `assigned` in the new unit.
//
//   in_progress ──await_third_party (party, reason)──▶ waiting_for_third_party
//   waiting_for_third_party ──third_party_replied──▶ in_progress
//
//   a case waiting for another body (another ministry, a bank): the reason
//   is shown to the beneficiary; the SLA clock pauses only when the case's
//   SLA says so (`sla.pause_for_third_party`, the node's policy; node/SLA.md).
//   A running clock still escalates it: it climbs and keeps waiting.
//
//   escalate (node/SLA.md), by the sweeper on an SLA breach or by staff:
//
//     submitted │ assigned │ in_progress ──escalate──▶ assigned   (level + 1, in the
//                                                                  unit of that level's head)
//
//     objection_review ──escalate──▶ objection_review   (level + 1: a late review climbs too)
//     waiting_for_third_party ──escalate──▶ waiting_for_third_party   (a running clock)
//
//   an escalated case is `assigned` at its new level: the head who now owns
//   it starts it (or assigns it on), and its new deadline runs meanwhile.
//   A waiting (paused), answered or closed case is never escalated. Above the
//   sector head, `case.handed_to_hub` (not an action: the status stays as it
//   is) marks the hand-off; the node stops escalating the case.
//   add_note (internal: the beneficiary never sees it) and reply (public) are
//   allowed in every state but closed and leave the state as it is.
//   reject is an answer whose outcome is "rejected": the case moves to
//   `answered`, and the beneficiary may object to it like any answer.
//   An objection (node/SLA.md) reopens the case one level higher, to be
//   reviewed by someone other than the author of the answer; the decision is
//   an answer again, with a new objection window.
//
// Each action is one event kind (`case.assigned`, …); the fold refuses an
// event the current state does not allow, so replicated histories obey the
// same machine. A refused action is a 409 naming the state and what it allows.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/error.hpp"

namespace tawasul::node {

enum class CaseStatus {
  kSubmitted,
  kAssigned,
  kInProgress,
  kWaitingForBeneficiary,
  kWaitingForThirdParty,
  kAnswered,
  kObjectionReview,
  kClosed
};

enum class CaseAction {
  kAssign,
  kStart,
  kRequestInfo,
  kProvideInfo,
  kAnswer,
  kReject,
  kTransfer,
  kClose,
  kAddNote,
  kReply,
  kObject,
  kDecideObjection,
  kEscalate,
  kAwaitThirdParty,
  kThirdPartyReplied,
};

inline constexpr CaseStatus kAllStatuses[] = {CaseStatus::kSubmitted,
                                              CaseStatus::kAssigned,
                                              CaseStatus::kInProgress,
                                              CaseStatus::kWaitingForBeneficiary,
                                              CaseStatus::kWaitingForThirdParty,
                                              CaseStatus::kAnswered,
                                              CaseStatus::kObjectionReview,
                                              CaseStatus::kClosed};
inline constexpr CaseAction kAllActions[] = {
    CaseAction::kAssign,      CaseAction::kStart,           CaseAction::kRequestInfo,
    CaseAction::kProvideInfo, CaseAction::kAnswer,          CaseAction::kReject,
    CaseAction::kTransfer,    CaseAction::kClose,           CaseAction::kAddNote,
    CaseAction::kReply,       CaseAction::kObject,          CaseAction::kDecideObjection,
    CaseAction::kEscalate,    CaseAction::kAwaitThirdParty, CaseAction::kThirdPartyReplied};

std::string_view status_name(CaseStatus status);  // "in_progress"
std::string_view action_name(CaseAction action);  // "request_info"
std::string_view event_kind(CaseAction action);   // "case.info_requested"
std::optional<CaseStatus> parse_status(std::string_view name);
std::optional<CaseAction> parse_action(std::string_view name);
std::optional<CaseAction> action_of_event(std::string_view kind);

// The state after `action`, or nullopt when `status` does not allow it.
std::optional<CaseStatus> next_status(CaseStatus status, CaseAction action);
std::vector<CaseAction> allowed_actions(CaseStatus status);
// 409 "transition_not_allowed": "a case that is answered allows: close, add_note, reply".
Error refusal(CaseStatus status, CaseAction action);

}  // namespace tawasul::node
