#include "node/commands.hpp"

int main(int argc, char** argv) {
  return tawasul::node::run_cli(argc, argv);
}
