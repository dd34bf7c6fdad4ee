// A node's identity: its code, its role and its keys, kept in the data
// directory. `identity.key` (mode 0600) holds the secrets; `identity.pub`
// (JSON, shareable) holds what the hub needs to enrol the node.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "crypto/crypto.hpp"
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

// {"code", "role", "sign_public" (hex), "curve_public" (Z85)}
nlohmann::json public_identity(const Identity& identity);

}  // namespace tawasul::node
