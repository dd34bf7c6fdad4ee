// The node's HTTP API under /api/v1 (node/API.md lists every endpoint).
//
// Ownership: created by the daemon; the store, writer and clock outlive it.
// Thread rules: handlers run on the server's handler threads (node/http/
// server.hpp); they only read the store (short read transactions) or queue
// commands to the writer and wait for the commit; Argon2id runs in a bounded
// gate. bind()/start()/stop() from the owning thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "node/access.hpp"
#include "node/bounded_pool.hpp"
#include "node/clock.hpp"
#include "node/error.hpp"
#include "node/http/router.hpp"
#include "node/http/server.hpp"
#include "node/node_store.hpp"
#include "node/writer.hpp"

namespace tawasul::node {

// Argon2id hashes queued behind the running ones (one per core) before a
// sign-in or registration is answered 503 with Retry-After.
inline constexpr std::size_t kPasswordQueue = 32;

struct HttpOptions {
  // HttpOptions{host, port, threads}, the rest at their defaults.
  HttpOptions(std::string h = "127.0.0.1", int p = 0, int t = 32)
      : host(std::move(h)), port(p), threads(t) {}
  std::string host = "127.0.0.1";
  int port = 0;      // 0: any free port
  int threads = 32;  // handler threads (they may wait on the writer's commit)
  // Connections, deadlines and sizes (node/http/server.hpp lists the defaults).
  http::Limits limits;
  // Argon2id hashes at once (0: one per core), and how many may wait.
  std::size_t password_hashes = 0;
  std::size_t password_queue = kPasswordQueue;
};

class HttpApi {
 public:
  // `federation_status` adds the uplink's or router's state to /api/v1/health.
  HttpApi(NodeStore& store, Writer& writer, const Clock& clock,
          std::function<nlohmann::json()> federation_status);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // Replaces the access policy (by default: the root unit is the node's code
  // and a unit "A.B" lies below "A"). Call before start().
  void set_access_policy(AccessPolicy policy) { policy_ = std::move(policy); }

  // Binds the listening socket; returns the port.
  Result<int> bind(const HttpOptions& options);
  void start();
  void stop();

 private:
  void routes();
  void staff_routes();  // http_staff.cpp: login, logout, me, staff accounts, case actions
  // http_beneficiary.cpp: beneficiary accounts, sign-in, "my cases"
  void beneficiary_routes();
  void attachment_routes();  // http_attachments.cpp: upload and download of case files
  // The staff member behind the request's session (Bearer token or cookie).
  std::optional<StaffMember> authenticate(const http::Request& req) const;
  // The beneficiary account behind the request's session, if it is one.
  std::optional<BeneficiaryAccount> authenticate_beneficiary(const http::Request& req) const;
  // The public view of the case, if the request may act as its beneficiary:
  // the access code it sends opens the case, or (without a code) its
  // beneficiary session's account owns it. not_found otherwise, one answer
  // for a missing case and a wrong code.
  Result<nlohmann::json> beneficiary_case(const http::Request& req,
                                          const std::string& tracking_number) const;
  void audit_denial(const StaffMember& who, const std::string& what, const std::string& target);
  // The policy of the node's current org tree (or the default without one).
  AccessPolicy current_policy();
  NodeStore& store_;
  Writer& writer_;
  const Clock& clock_;
  std::function<nlohmann::json()> federation_status_;
  AccessPolicy policy_;
  // The Argon2id cost for passwords set through the API.
  crypto::PasswordCost password_cost_ = crypto::PasswordCost::interactive();

 public:
  // Tests lower the Argon2id cost; production keeps the interactive level.
  void set_password_cost(crypto::PasswordCost cost) { password_cost_ = cost; }
  // The gate every Argon2id hash passes (tests fill it to see the 503).
  BoundedGate& password_gate() { return *password_gate_; }

 private:
  http::Router router_;
  std::unique_ptr<BoundedGate> password_gate_;
  http::Server server_{router_};
};

}  // namespace tawasul::node
