// `tawasul calendar`: the national defaults, node files layered over them, and refusals.
#include <catch2/catch.hpp>

#include <fstream>

#include "launcher.hpp"
#include "test_support.hpp"

using namespace tawasul::test;
using nlohmann::json;

TEST_CASE("tawasul calendar prints a year's holidays and working days", "[integration][calendar]") {
  auto text = run_tawasul({"calendar", "--year", "2027"});
  INFO(text.output);
  REQUIRE(text.exit_code == 0);
  CHECK(text.output.find("Founding Day") != std::string::npos);
  CHECK(text.output.find("يوم التأسيس") != std::string::npos);
  CHECK(text.output.find("2027-03-08 .. 2027-03-14  1448-09-29 .. 1448-10-06") !=
        std::string::npos);
  CHECK(text.output.find("2027-05-15 .. 2027-05-19  1448-12-09 .. 1448-12-13") !=
        std::string::npos);
  CHECK(text.output.find("total 249") != std::string::npos);

  auto js = run_tawasul({"calendar", "--year", "2027", "--json"});
  REQUIRE(js.exit_code == 0);
  json out = json::parse(js.output);
  CHECK(out["working_days"]["total"] == 249);
  REQUIRE(out["holidays"].size() == 4);
  CHECK(out["holidays"][1]["id"] == "eid_al_fitr");
  CHECK(out["holidays"][1]["first_hijri"]["text"]["en"] == "29 Ramadan 1448 AH");
}

TEST_CASE("tawasul calendar refuses a bad file, naming the line", "[integration][calendar]") {
  TempDir tmp("calendar");
  const auto good = tmp / "node.conf";
  const auto bad = tmp / "bad.conf";
  std::ofstream(good) << "close 2027-01-11 \"تعليق الدراسة\" \"Rain closure\"\n";
  std::ofstream(bad) << "# a node calendar\nhijri shawal-01 +3 eid \"عيد\" \"Eid\"\n";

  auto layered = run_tawasul({"calendar", "--year", "2027", "--file", good.string()});
  INFO(layered.output);
  CHECK(layered.exit_code == 0);
  CHECK(layered.output.find("Rain closure") != std::string::npos);
  CHECK(layered.output.find("total 248") != std::string::npos);

  auto refused = run_tawasul({"calendar", "--year", "2027", "--file", bad.string()});
  INFO(refused.output);
  CHECK(refused.exit_code == 1);
  CHECK(refused.output.find("line 2: unknown Hijri month 'shawal'") != std::string::npos);

  // A node does not start on a calendar it cannot read whole.
  auto run = run_tawasul({"run", "--data", (tmp / "data").string(), "--calendar", bad.string()});
  INFO(run.output);
  CHECK(run.exit_code != 0);
  CHECK(run.output.find("line 2: unknown Hijri month 'shawal'") != std::string::npos);

  CHECK(run_tawasul({"calendar", "--year", "1899"}).exit_code == 1);
  CHECK(run_tawasul({"calendar", "--year", "abc"}).exit_code == 1);
  CHECK(run_tawasul({"calendar"}).exit_code == 1);
  CHECK(
      run_tawasul({"calendar", "--year", "2027", "--file", (tmp / "missing").string()}).exit_code ==
      1);
}
