// A node's identity: its code, its role and its keys, kept in the data
// directory. `identity.key` (mode 0600) holds the secrets; `identity.pub`
// (JSON, shareable) holds what the hub needs to enrol the node.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/crypto.hpp"
#include "federation/interfaces.hpp"
#include "node/error.hpp"

namespace tawasul::node {

enum class Role { kNode, kHub };

std::string role_name(Role role);

struct Identity {
  std::string code;
  Role role = Role::kNode;
  crypto::SigningKeyPair sign;
  crypto::CurveKeyPair curve;
  // Seals personal data at rest (national ID, phone, e-mail).
  crypto::SealKey seal_key{};
  // Signing keys used before rotations, each with the last sequence number of
  // the node's own chain it signed; ascending (storage/FORMAT.md).
  std::vector<federation::RetiredKey> retired_sign;
};

inline constexpr const char* kIdentityKeyFile = "identity.key";
inline constexpr const char* kIdentityPubFile = "identity.pub";

// Codes are 2..16 characters A-Z and 0-9 (they prefix tracking numbers).
bool valid_node_code(std::string_view code);

// Creates a new identity in `dir` (created with mode 0700 if missing). Refuses
// to replace an existing identity.
Result<Identity> create_identity(const std::filesystem::path& dir, Role role,
                                 const std::string& code);
// Loads the identity from `dir`; refuses a key file that group or others can read.
Result<Identity> load_identity(const std::filesystem::path& dir);

// {"code", "role", "sign_public" (hex), "curve_public" (Z85),
//  "retired_sign_keys"?: [{"sign_public", "last_seq"}]}
nlohmann::json public_identity(const Identity& identity);

// Key rotation (`tawasul rotate-key`): a new signing key signs from event
// `own_head` + 1 on; the old one is kept as retired up to `own_head`. Rewrites
// identity.key and identity.pub. The node must be stopped.
Result<Identity> rotate_signing_key(const std::filesystem::path& dir, Identity identity,
                                    std::uint64_t own_head);

// The retired keys of identity.pub's `retired_sign_keys` (absent: none).
Result<std::vector<federation::RetiredKey>> parse_retired_keys(const nlohmann::json& keys);

}  // namespace tawasul::node
