#include "node/identity.hpp"

#include <sys/stat.h>

#include "crypto/envelope.hpp"
#include "crypto/keyfile.hpp"
#include "federation/wire.hpp"

namespace tawasul::node {

std::string role_name(Role role) {
  return role == Role::kHub ? "hub" : "node";
}

bool valid_node_code(std::string_view code) {
  return crypto::valid_origin(code);
}

Result<Identity> create_identity(const std::filesystem::path& dir, Role role,
                                 const std::string& code) {
  if (!valid_node_code(code)) {
    return std::unexpected(Error::bad_request(
        "invalid_code", "a node code is 2 to 16 characters, A-Z and 0-9 (got '" + code + "')",
        "code"));
  }
  if (std::filesystem::exists(dir / kIdentityKeyFile)) {
    return std::unexpected(Error::conflict(
        "exists",
        (dir / kIdentityKeyFile).string() + " already exists; refusing to replace a node's keys"));
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return std::unexpected(Error::internal("cannot create " + dir.string() + ": " + ec.message()));
  ::chmod(dir.c_str(), 0700);
  Identity id;
  id.code = code;
  id.role = role;
  id.sign = crypto::SigningKeyPair::generate();
  id.curve = crypto::CurveKeyPair::generate();
  id.seal_key = crypto::generate_seal_key();
  crypto::KeyValues values{
      {"version", "1"},
      {"code", code},
      {"role", role_name(role)},
      {"sign_secret", crypto::to_hex(id.sign.secret_key)},
      {"curve_secret", crypto::to_hex(id.curve.secret_key)},
      {"seal_key", crypto::to_hex(id.seal_key)},
  };
  auto written = crypto::write_secret_file(
      dir / kIdentityKeyFile, values,
      "Tawasul node identity: secret keys. Keep this file mode 0600 and back it up safely.");
  if (!written) return std::unexpected(Error::internal(written.error().message));
  auto pub = crypto::write_public_file(dir / kIdentityPubFile, public_identity(id).dump(2) + "\n");
  if (!pub) return std::unexpected(Error::internal(pub.error().message));
  return id;
}

Result<Identity> load_identity(const std::filesystem::path& dir) {
  auto values = crypto::read_secret_file(dir / kIdentityKeyFile);
  if (!values) {
    return std::unexpected(Error::internal(
        values.error().message +
        (values.error().code == crypto::ErrorCode::kIo ? " (run `tawasul init` first)" : "")));
  }
  auto field = [&](const char* name) -> Result<std::string> {
    auto it = values->find(name);
    if (it == values->end()) {
      return std::unexpected(
          Error::internal((dir / kIdentityKeyFile).string() + ": missing " + name));
    }
    return it->second;
  };
  Identity id;
  auto version = field("version");
  if (!version) return std::unexpected(version.error());
  if (*version != "1")
    return std::unexpected(Error::internal("unknown identity version " + *version));
  auto code = field("code");
  if (!code) return std::unexpected(code.error());
  if (!valid_node_code(*code))
    return std::unexpected(Error::internal("invalid code in identity: " + *code));
  id.code = *code;
  auto role = field("role");
  if (!role) return std::unexpected(role.error());
  if (*role != "node" && *role != "hub")
    return std::unexpected(Error::internal("invalid role " + *role));
  id.role = *role == "hub" ? Role::kHub : Role::kNode;
  auto bad = [&](const char* name, const crypto::Error& e) {
    return Error::internal((dir / kIdentityKeyFile).string() + ": " + name + ": " + e.message);
  };
  auto sign_hex = field("sign_secret");
  if (!sign_hex) return std::unexpected(sign_hex.error());
  auto sign = crypto::array_from_hex<64>(*sign_hex);
  if (!sign) return std::unexpected(bad("sign_secret", sign.error()));
  id.sign = crypto::SigningKeyPair::from_secret(*sign);
  auto curve_hex = field("curve_secret");
  if (!curve_hex) return std::unexpected(curve_hex.error());
  auto curve = crypto::array_from_hex<32>(*curve_hex);
  if (!curve) return std::unexpected(bad("curve_secret", curve.error()));
  id.curve = crypto::CurveKeyPair::from_secret(*curve);
  auto seal_hex = field("seal_key");
  if (!seal_hex) return std::unexpected(seal_hex.error());
  auto seal = crypto::array_from_hex<32>(*seal_hex);
  if (!seal) return std::unexpected(bad("seal_key", seal.error()));
  id.seal_key = *seal;
  // Optional: present once the node rotated its signing key.
  if (auto it = values->find("retired_sign"); it != values->end() && !it->second.empty()) {
    auto retired = parse_retired_keys(nlohmann::json::parse(it->second, nullptr, false));
    if (!retired) {
      return std::unexpected(Error::internal((dir / kIdentityKeyFile).string() +
                                             ": retired_sign: " + retired.error().message));
    }
    id.retired_sign = std::move(*retired);
  }
  return id;
}

namespace {
nlohmann::json retired_json(const std::vector<federation::RetiredKey>& keys) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& k : keys)
    out.push_back({{"sign_public", crypto::to_hex(k.sign_public)}, {"last_seq", k.last_seq}});
  return out;
}
}  // namespace

Result<std::vector<federation::RetiredKey>> parse_retired_keys(const nlohmann::json& keys) {
  auto malformed = [] {
    return std::unexpected(Error::bad_request(
        "invalid_key_history",
        "retired signing keys must be [{\"sign_public\": HEX, \"last_seq\": N}], ascending"));
  };
  std::vector<federation::RetiredKey> out;
  if (keys.is_null()) return out;
  if (!keys.is_array()) return malformed();
  for (const auto& k : keys) {
    if (!k.is_object() || !k.contains("sign_public") || !k["sign_public"].is_string() ||
        !k.contains("last_seq") || !k["last_seq"].is_number_unsigned())
      return malformed();
    auto key = crypto::array_from_hex<32>(k["sign_public"].get<std::string>());
    if (!key) return malformed();
    const auto last = k["last_seq"].get<std::uint64_t>();
    if (!out.empty() && last < out.back().last_seq) return malformed();
    out.push_back(federation::RetiredKey{*key, last});
  }
  return out;
}

Result<Identity> rotate_signing_key(const std::filesystem::path& dir, Identity identity,
                                    std::uint64_t own_head) {
  if (!identity.retired_sign.empty() && own_head < identity.retired_sign.back().last_seq) {
    return std::unexpected(Error::conflict(
        "behind_history", "the store's head is behind the last rotation; wrong data directory?"));
  }
  identity.retired_sign.push_back(federation::RetiredKey{identity.sign.public_key, own_head});
  identity.sign = crypto::SigningKeyPair::generate();
  crypto::KeyValues values{
      {"version", "1"},
      {"code", identity.code},
      {"role", role_name(identity.role)},
      {"sign_secret", crypto::to_hex(identity.sign.secret_key)},
      {"curve_secret", crypto::to_hex(identity.curve.secret_key)},
      {"seal_key", crypto::to_hex(identity.seal_key)},
      {"retired_sign", retired_json(identity.retired_sign).dump()},
  };
  auto written = crypto::write_secret_file(
      dir / kIdentityKeyFile, values,
      "Tawasul node identity: secret keys. Keep this file mode 0600 and back it up safely.", true);
  if (!written) return std::unexpected(Error::internal(written.error().message));
  auto pub =
      crypto::write_public_file(dir / kIdentityPubFile, public_identity(identity).dump(2) + "\n");
  if (!pub) return std::unexpected(Error::internal(pub.error().message));
  return identity;
}

nlohmann::json public_identity(const Identity& identity) {
  nlohmann::json pub{{"code", identity.code},
                     {"role", role_name(identity.role)},
                     {"sign_public", crypto::to_hex(identity.sign.public_key)},
                     {"curve_public", federation::z85_encode(identity.curve.public_key)},
                     {"curve_public_hex", crypto::to_hex(identity.curve.public_key)}};
  if (!identity.retired_sign.empty())
    pub["retired_sign_keys"] = retired_json(identity.retired_sign);
  return pub;
}

}  // namespace tawasul::node
