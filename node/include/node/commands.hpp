// The `tawasul` program's command line: init, run, enroll, verify, cases, outbox, sweep, calendar,
// demo.
#pragma once

namespace tawasul::node {

// Runs the command named by argv[1]; returns the process exit code.
int run_cli(int argc, char** argv);

// `tawasul demo`: a hub and two nodes on loopback (demo.cpp).
int run_demo(int argc, const char* const* argv);

}  // namespace tawasul::node
