// Cases: filing requests, the case.filed event, and the fold of events into
// the case view. The case view is what `cases` in the store holds: the fold of
// a case's events (DESIGN.md invariant 1), never written any other way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "crypto/crypto.hpp"
#include "crypto/envelope.hpp"
#include "node/error.hpp"
#include "node/text.hpp"
#include "node/tracking.hpp"
#include "node/workflow.hpp"

namespace tawasul::node {

inline constexpr std::size_t kRequestBodyMax = 64 * 1024;
inline constexpr int kAnswerWorkingDays = 5;
inline constexpr int kFirstResponseWorkingDays = 1;
// The pre-breach warning, in percent of a level's window (node/SLA.md).
inline constexpr int kSlaWarnPercent = 80;

struct BeneficiaryInput {
  std::string name;
  std::optional<std::string> phone;  // E.164, e.g. +966501234567
  std::optional<std::string> email;
  std::optional<std::string> national_id;  // national ID, iqama or passport number
};

struct FilingRequest {
  std::string type;
  std::string subject;
  std::string description;
  std::string channel;
  BeneficiaryInput beneficiary;
  // The call-centre agent who filed on the caller's behalf (from the
  // session, never from the body); empty when the beneficiary filed.
  std::string filed_by;
  std::string service;                     // a service of the catalogue, routing the case
  std::string contact_preference = "any";  // any, written_only, no_calls
  bool confidential = false;               // seen only by staff granted confidential cases
  // Where the service catalogue routes the case (filled by the node, never
  // from the body); empty: the case waits at the root for a coordinator.
  std::string route_unit;
  // The blind index of the signed-in beneficiary's account (from the
  // session, never from the body; beneficiaries.hpp); empty without one.
  std::string account_index;
  // The access code and its hash, made before the writer takes the filing
  // (Argon2id is slow work that the serial writer must not do); never from
  // the body. Without it, file_case makes one itself.
  std::optional<AccessSecret> access;
  // The service's own promise in working days (from the catalogue, never
  // from the body); 0: the node's default.
  int answer_working_days = 0;
};

bool is_case_type(std::string_view type);
bool is_channel(std::string_view channel);
bool is_contact_preference(std::string_view preference);

// Parses and validates a filing request body. Every refusal names the field.
Result<FilingRequest> parse_filing_request(std::string_view body);

// The payload of a `case.filed` event. Personal data (phone, e-mail, national
// ID) is sealed with `seal_key`, bound to the tracking number and field name.
nlohmann::json case_filed_payload(const FilingRequest& request, const std::string& tracking_number,
                                  std::string_view access_hash, std::int64_t submitted_ms,
                                  std::int64_t due_ms, const crypto::SealKey& seal_key);

// Personal data at rest (DESIGN.md invariant 7): phone, e-mail and national
// ID travel sealed, and beside each sealed value a keyed blind index — a
// BLAKE2b-256 of the normalised value under a key derived from the node's
// seal key — lets the node find a beneficiary's cases without storing the
// value in clear. 64 hex digits.
std::string blind_index(const crypto::SealKey& seal_key, std::string_view field,
                        std::string_view normalized_value);
// The normal form of a phone, email or national_id as a person may type it;
// nullopt when it is not one.
std::optional<std::string> normalize_contact(std::string_view field, std::string_view raw);
// Opens a sealed personal-data field of a case (the node's own cases only).
std::optional<std::string> open_contact(const crypto::SealKey& seal_key,
                                        std::string_view tracking_number, std::string_view field,
                                        std::string_view sealed_hex);

inline constexpr const char* kCaseFiled = "case.filed";
// A beneficiary who proved the access code links the case to their account:
// {tracking_number, by: "beneficiary", account_index}.
inline constexpr const char* kCaseLinked = "case.linked";
// Above the sector head the ladder leaves the node (node/SLA.md):
// {tracking_number, by: "system" or a staff id, level, reason}. The status
// stays; the node stops escalating the case (the hub's side is federation work).
inline constexpr const char* kCaseHandedToHub = "case.handed_to_hub";
// The pre-breach warning (node/SLA.md): {tracking_number, by: "system",
// level, due_at_ms (the deadline it warns of), notify: [staff ids]}. Internal:
// the beneficiary never sees it; it flags the case in the staff queue once
// per deadline, and the node's outbox tells the staff it names.
inline constexpr const char* kCaseSlaWarned = "case.sla_warned";

// True when `field` is one a staff or beneficiary action may carry (the
// texts it needs, and an assignee for assign); anything else is refused.
bool is_action_field(CaseAction action, std::string_view field);
// Checks that `fields` carry each text the action needs, as text of the
// allowed length: 400 missing_field, wrong_type or invalid_length naming
// the field — the same limits the fold enforces, said to the caller.
Result<void> check_action_fields(CaseAction action, const nlohmann::json& fields);
// upheld, partly_upheld, rejected: what a review of an objection decides.
bool is_objection_outcome(std::string_view outcome);

// Working days a beneficiary has to object to an answer, and the window of
// each level that reviews a case after an objection (node/SLA.md).
inline constexpr int kObjectionWorkingDays = 10;
inline constexpr int kLevelWorkingDays = 3;

// What falls due at a key of the due index (storage/FORMAT.md `due`): the
// running deadline of an open case, or the end of an answer's objection window.
inline constexpr std::string_view kDueAnswer = "answer";
inline constexpr std::string_view kDueObjectionWindow = "objection_window";
// ...or the moment to warn of the running deadline (`warn_at_ms`, before the
// case is warned for that deadline).
inline constexpr std::string_view kDueWarning = "warning";
// The share of a level's window after which staff are warned, unless the
// case's SLA says otherwise (`sla.warn_percent`).
inline constexpr int kWarnPercent = 80;

// Folds `event` into `state` (null for a case not seen yet) and returns the new
// state. Refuses events that do not fit the case (e.g. filing it twice).
Result<nlohmann::json> fold_case_event(const nlohmann::json& state, const crypto::Event& event,
                                       const nlohmann::json& payload);

// A status's label for the beneficiary, {"ar": …, "en": …} ("submitted" ->
// {"ar": "تم الاستلام", "en": "Received"}).
nlohmann::json status_label(std::string_view status);

// What the beneficiary (or anyone with the access code) sees: no sealed data,
// no access hash.
nlohmann::json public_case_view(const nlohmann::json& state);

}  // namespace tawasul::node
