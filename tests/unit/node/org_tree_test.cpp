// Unit tests for the organisation tree of a node (node/org_tree.hpp).
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/error.hpp"
#include "node/org_tree.hpp"

#ifndef TAWASUL_SOURCE_DIR
#error "TAWASUL_SOURCE_DIR must name the source tree (target_compile_definitions)"
#endif

namespace {

namespace node = tawasul::node;
using nlohmann::json;
using Strings = std::vector<std::string>;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string repeat(std::string_view piece, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += piece;
  return out;
}

json label(const std::string& ar, const std::string& en) {
  return json{{"ar", ar}, {"en", en}};
}

json unit(const std::string& id, const std::string& parent = {}) {
  json u{{"id", id}, {"name", label("وحدة " + id, "Unit " + id)}};
  if (!parent.empty()) u["parent"] = parent;
  return u;
}

// A small tree; tests change one thing at a time.
//   S ─┬─ S.A ─┬─ S.A.1
//      │       └─ S.A.2
//      └─ S.B
json small_tree() {
  json root = unit("S");
  root["head_title"] = label("المدير العام", "Director General");
  return json{{"version", 1},
              {"units", json::array({root, unit("S.A", "S"), unit("S.A.1", "S.A"),
                                     unit("S.A.2", "S.A"), unit("S.B", "S")})},
              {"services", json::array({json{{"id", "grades"},
                                             {"name", label("الدرجات", "Grades")},
                                             {"unit", "S.A.1"},
                                             {"default_type", "complaint"}}})}};
}

node::OrgTree parsed(const json& document) {
  auto tree = node::OrgTree::parse(document);
  INFO((tree ? std::string() : tree.error().message));
  REQUIRE(tree.has_value());
  return *tree;
}

// Expects `document` refused as an invalid org tree naming `field`.
void require_refused(const json& document, const std::string& field) {
  INFO(
      "document: " << document.dump(-1, ' ', false, json::error_handler_t::replace).substr(0, 400));
  auto tree = node::OrgTree::parse(document);
  REQUIRE_FALSE(tree.has_value());
  INFO("message: " << tree.error().message);
  CHECK(tree.error().status == 400);
  CHECK(tree.error().code == "invalid_org_tree");
  CHECK(tree.error().field == field);
  if (!field.empty()) CHECK(tree.error().message.rfind(field + ": ", 0) == 0);
}

// A chain S ← L1 ← L2 ← … whose deepest unit is at `depth`.
json chain(int depth) {
  json units = json::array({unit("L0")});
  for (int d = 1; d <= depth; ++d)
    units.push_back(unit("L" + std::to_string(d), "L" + std::to_string(d - 1)));
  return json{{"version", 1}, {"units", units}};
}

}  // namespace

TEST_CASE("the sample trees of KSU and the Riyadh directorate parse", "[org]") {
  auto ksu = node::OrgTree::parse_text(read_file(TAWASUL_SOURCE_DIR "/deploy/org/ksu.json"));
  INFO((ksu ? std::string() : ksu.error().message));
  REQUIRE(ksu.has_value());
  CHECK(ksu->root() == "KSU");
  CHECK(ksu->size() >= 15);
  CHECK(ksu->size() <= 25);
  REQUIRE(ksu->unit("KSU") != nullptr);
  CHECK(ksu->unit("KSU")->head_title_en == "University President");
  CHECK(ksu->unit("KSU")->head_title_ar == "مدير الجامعة");
  CHECK(ksu->ladder("KSU.SA.FIN") == Strings{"KSU.SA.FIN", "KSU.SA", "KSU"});
  CHECK(ksu->subtree("KSU.ENG") == Strings{"KSU.ENG", "KSU.ENG.CE", "KSU.ENG.EE", "KSU.ENG.ME"});
  for (const char* id :
       {"stipends", "housing", "admission", "registration", "transcripts", "graduate_admission",
        "grade_appeal", "scholarship_abroad", "complaints_general", "suggestions"}) {
    INFO(id);
    REQUIRE(ksu->service(id) != nullptr);
  }
  CHECK(ksu->service("stipends")->unit == "KSU.SA.FIN");
  CHECK(ksu->service("suggestions")->default_type == "suggestion");
  // A modest SLA policy: complaints in the ministry's five days, inquiries in three.
  CHECK(node::resolve_sla(&ksu->sla(), "complaint", "", 0) ==
        node::CaseSla{"type:complaint", 5, 1, 3, 10, 80});
  CHECK(node::resolve_sla(&ksu->sla(), "inquiry", "", 0) ==
        node::CaseSla{"type:inquiry", 3, 1, 3, 10, 80});
  CHECK(node::resolve_sla(&ksu->sla(), "demand", "", 0).policy == "default");

  auto ruh = node::OrgTree::parse_text(read_file(TAWASUL_SOURCE_DIR "/deploy/org/ruh.json"));
  INFO((ruh ? std::string() : ruh.error().message));
  REQUIRE(ruh.has_value());
  CHECK(ruh->root() == "RUH");
  CHECK(ruh->unit("RUH")->head_title_ar == "المدير العام");
  CHECK(ruh->unit("RUH")->name_ar == "الإدارة العامة للتعليم بمنطقة الرياض");
  for (const char* id :
       {"school_enrolment", "school_transfer", "transport", "special_education", "teacher_transfer",
        "payroll", "exam_results", "bullying_report", "suggestions", "praise"}) {
    INFO(id);
    REQUIRE(ruh->service(id) != nullptr);
  }
  CHECK(ruh->service("bullying_report")->default_type == "complaint");
  CHECK(ruh->service("praise")->default_type == "praise");
  CHECK(ruh->sla() == ksu->sla());
  CHECK(ruh->subtree("RUH.OFF").size() == 5);

  // Every unit of both samples has a head title in both languages.
  for (const auto* tree : {&*ksu, &*ruh}) {
    for (const auto& u : tree->units()) {
      INFO(u.id);
      CHECK_FALSE(u.head_title_ar.empty());
      CHECK_FALSE(u.head_title_en.empty());
    }
  }
}

TEST_CASE("the sample trees survive a round trip through to_json", "[org]") {
  for (const char* file : {"/deploy/org/ksu.json", "/deploy/org/ruh.json"}) {
    INFO(file);
    auto text = read_file(std::string(TAWASUL_SOURCE_DIR) + file);
    auto tree = node::OrgTree::parse_text(text);
    REQUIRE(tree.has_value());
    CHECK(tree->to_json() == json::parse(text));
    auto again = node::OrgTree::parse(tree->to_json());
    REQUIRE(again.has_value());
    CHECK(*again == *tree);
  }
}

TEST_CASE("a small tree gives ladders, subtrees and ancestry", "[org]") {
  auto tree = parsed(small_tree());
  CHECK(tree.root() == "S");
  CHECK(tree.size() == 5);

  const node::OrgUnit* a = tree.unit("S.A");
  REQUIRE(a != nullptr);
  CHECK(a->parent == "S");
  CHECK(a->children == Strings{"S.A.1", "S.A.2"});
  CHECK(a->depth == 1);
  CHECK(a->name_ar == "وحدة S.A");
  CHECK(a->head_title_ar.empty());
  CHECK(tree.unit("S")->depth == 0);
  CHECK_FALSE(tree.unit("S")->parent.has_value());
  CHECK(tree.unit("S")->head_title_en == "Director General");
  CHECK(tree.unit("S.A.2")->depth == 2);
  CHECK(tree.unit("S.C") == nullptr);

  CHECK(tree.ladder("S.A.2") == Strings{"S.A.2", "S.A", "S"});
  CHECK(tree.ladder("S") == Strings{"S"});
  CHECK(tree.ladder("nowhere").empty());

  CHECK(tree.subtree("S") == Strings{"S", "S.A", "S.A.1", "S.A.2", "S.B"});
  CHECK(tree.subtree("S.A") == Strings{"S.A", "S.A.1", "S.A.2"});
  CHECK(tree.subtree("S.B") == Strings{"S.B"});
  CHECK(tree.subtree("nowhere").empty());

  CHECK(tree.in_subtree("S.A.1", "S.A"));
  CHECK(tree.in_subtree("S.A.1", "S"));
  CHECK(tree.in_subtree("S.A", "S.A"));
  CHECK_FALSE(tree.in_subtree("S.A", "S.A.1"));
  CHECK_FALSE(tree.in_subtree("S.B", "S.A"));
  CHECK_FALSE(tree.in_subtree("nowhere", "S"));
  CHECK_FALSE(tree.in_subtree("S.A", "nowhere"));

  const node::Service* grades = tree.service("grades");
  REQUIRE(grades != nullptr);
  CHECK(grades->unit == "S.A.1");
  CHECK(grades->default_type == "complaint");
  CHECK(grades->name_en == "Grades");
  CHECK(tree.service("nothing") == nullptr);
}

TEST_CASE("a parent may come after its children in the file", "[org]") {
  json doc{{"version", 1},
           {"units", json::array({unit("S.A.1", "S.A"), unit("S.A", "S"), unit("S")})}};
  auto tree = parsed(doc);
  CHECK(tree.root() == "S");
  CHECK(tree.ladder("S.A.1") == Strings{"S.A.1", "S.A", "S"});
  CHECK(tree.unit("S.A.1")->depth == 2);
}

TEST_CASE("services are optional", "[org]") {
  json doc = small_tree();
  doc.erase("services");
  auto tree = parsed(doc);
  CHECK(tree.services().empty());
  CHECK(tree.to_json()["services"] == json::array());
}

TEST_CASE("to_json then parse gives the same tree", "[org]") {
  auto tree = parsed(small_tree());
  json out = tree.to_json();
  CHECK(out == small_tree());
  auto again = parsed(out);
  CHECK(again == tree);
  CHECK(again.to_json() == out);
  CHECK_FALSE(out["units"][1].contains("head_title"));
  CHECK_FALSE(out["units"][0].contains("parent"));
}

TEST_CASE("the document must be an object with a version of 1", "[org]") {
  require_refused(json::array(), "");
  json doc = small_tree();
  doc.erase("version");
  require_refused(doc, "version");
  doc["version"] = 2;
  require_refused(doc, "version");
  doc["version"] = "1";
  require_refused(doc, "version");
  doc["version"] = 1.0;
  require_refused(doc, "version");
}

TEST_CASE("unknown fields are refused at every level", "[org]") {
  json doc = small_tree();
  doc["comment"] = "x";
  require_refused(doc, "comment");

  doc = small_tree();
  doc["units"][2]["colour"] = "blue";
  require_refused(doc, "units[2].colour");

  doc = small_tree();
  doc["units"][1]["name"]["fr"] = "Unité";
  require_refused(doc, "units[1].name.fr");

  doc = small_tree();
  doc["units"][0]["head_title"]["fr"] = "Directeur";
  require_refused(doc, "units[0].head_title.fr");

  doc = small_tree();
  doc["services"][0]["sla_days"] = 3;
  require_refused(doc, "services[0].sla_days");

  // A key that is not a plain word is quoted in the path.
  doc = small_tree();
  doc["units"][1]["a b"] = 1;
  require_refused(doc, "units[1][\"a b\"]");
}

TEST_CASE("units must be a non-empty array of objects", "[org]") {
  json doc = small_tree();
  doc.erase("units");
  require_refused(doc, "units");
  doc["units"] = json::object();
  require_refused(doc, "units");
  doc["units"] = json::array();
  require_refused(doc, "units");
  doc = small_tree();
  doc["units"][3] = "S.A.2";
  require_refused(doc, "units[3]");
}

TEST_CASE("unit ids are 1 to 64 characters of [A-Za-z0-9._-] and unique", "[org]") {
  json doc = small_tree();
  doc["units"][4].erase("id");
  require_refused(doc, "units[4].id");

  for (json bad : {json(""), json("S B"), json("S/B"), json("وحدة"), json(repeat("x", 65)), json(7),
                   json(nullptr)}) {
    INFO(bad.dump());
    doc = small_tree();
    doc["units"][4]["id"] = bad;
    require_refused(doc, "units[4].id");
  }

  doc = small_tree();
  doc["units"][4]["id"] = "S.A.1";
  require_refused(doc, "units[4].id");

  std::string longest = "Az09._-" + repeat("q", 57);
  REQUIRE(longest.size() == 64);
  doc = small_tree();
  doc["units"][4]["id"] = longest;
  auto tree = parsed(doc);
  CHECK(tree.unit(longest) != nullptr);
}

TEST_CASE("a parent must name an existing unit", "[org]") {
  json doc = small_tree();
  doc["units"][3]["parent"] = "S.XX";
  INFO(doc.dump());
  auto tree = node::OrgTree::parse(doc);
  REQUIRE_FALSE(tree.has_value());
  CHECK(tree.error().field == "units[3].parent");
  CHECK(tree.error().message == "units[3].parent: no unit 'S.XX'");

  for (json bad : {json(""), json(3), json(nullptr), json::object(), json("bad id")}) {
    INFO(bad.dump());
    doc = small_tree();
    doc["units"][3]["parent"] = bad;
    require_refused(doc, "units[3].parent");
  }
}

TEST_CASE("exactly one unit is the root", "[org]") {
  json doc = small_tree();
  doc["units"][4].erase("parent");
  require_refused(doc, "units[4].parent");

  doc = json{{"version", 1}, {"units", json::array({unit("A", "B"), unit("B", "A")})}};
  require_refused(doc, "units");
}

TEST_CASE("parents that form a cycle are refused", "[org]") {
  json doc{{"version", 1},
           {"units", json::array({unit("S"), unit("A", "B"), unit("B", "A"), unit("C", "B")})}};
  auto tree = node::OrgTree::parse(doc);
  REQUIRE_FALSE(tree.has_value());
  CHECK(tree.error().code == "invalid_org_tree");
  CHECK(tree.error().field == "units[1].parent");
  CHECK(tree.error().message.find("cycle") != std::string::npos);
  CHECK(tree.error().message.find("'A' → 'B' → 'A'") != std::string::npos);

  // The first unit below the cycle is listed first; the cycle is still named from 'A'.
  doc["units"] = json::array({unit("S"), unit("C", "B"), unit("A", "B"), unit("B", "A")});
  require_refused(doc, "units[2].parent");

  doc["units"] = json::array({unit("S"), unit("A", "B"), unit("B", "C"), unit("C", "A")});
  require_refused(doc, "units[1].parent");

  doc["units"] = json::array({unit("S"), unit("A", "A")});
  require_refused(doc, "units[1].parent");
}

TEST_CASE("no unit may be deeper than 16 below the root", "[org]") {
  auto deepest = parsed(chain(16));
  CHECK(deepest.unit("L16")->depth == 16);
  CHECK(deepest.ladder("L16").size() == 17);

  require_refused(chain(17), "units[17].parent");
}

TEST_CASE("names need non-blank ar and en of at most 200 characters", "[org]") {
  json doc = small_tree();
  doc["units"][2].erase("name");
  require_refused(doc, "units[2].name");

  doc = small_tree();
  doc["units"][2]["name"] = "Unit";
  require_refused(doc, "units[2].name");

  doc = small_tree();
  doc["units"][2]["name"].erase("ar");
  require_refused(doc, "units[2].name.ar");

  doc = small_tree();
  doc["units"][2]["name"].erase("en");
  require_refused(doc, "units[2].name.en");

  for (json bad : {json(""), json("   "), json(5), json(nullptr), json("two\nlines"),
                   json(repeat("ع", 201)), json(std::string("bad \xFF byte"))}) {
    INFO(bad.dump(-1, ' ', false, json::error_handler_t::replace));
    doc = small_tree();
    doc["units"][2]["name"]["en"] = bad;
    require_refused(doc, "units[2].name.en");
  }

  doc = small_tree();
  doc["units"][2]["name"]["ar"] = repeat("ع", 200);
  CHECK(parsed(doc).unit("S.A.1")->name_ar == repeat("ع", 200));
}

TEST_CASE("a head title is optional but needs both languages", "[org]") {
  json doc = small_tree();
  doc["units"][0]["head_title"].erase("en");
  require_refused(doc, "units[0].head_title.en");

  doc = small_tree();
  doc["units"][0]["head_title"] = label("", "Director General");
  require_refused(doc, "units[0].head_title.ar");

  doc = small_tree();
  doc["units"][0]["head_title"] = "Director General";
  require_refused(doc, "units[0].head_title");
}

TEST_CASE("at most 10,000 units", "[org]") {
  json units = json::array({unit("R")});
  for (std::size_t i = 1; i < node::kOrgUnitsMax; ++i)
    units.push_back(unit(std::to_string(i), "R"));
  json doc{{"version", 1}, {"units", units}};
  CHECK(parsed(doc).size() == node::kOrgUnitsMax);

  doc["units"].push_back(unit("one-too-many", "R"));
  require_refused(doc, "units");
}

TEST_CASE("services are well formed, unique and routed to existing units", "[org]") {
  json doc = small_tree();
  doc["services"] = json::object();
  require_refused(doc, "services");

  doc = small_tree();
  doc["services"][0] = "grades";
  require_refused(doc, "services[0]");

  for (const char* field : {"id", "name", "unit", "default_type"}) {
    INFO(field);
    doc = small_tree();
    doc["services"][0].erase(field);
    require_refused(doc, std::string("services[0].") + field);
  }

  for (json bad : {json(""), json("Grades"), json("grade appeal"), json("grade.appeal"),
                   json(repeat("g", 65)), json(1)}) {
    INFO(bad.dump());
    doc = small_tree();
    doc["services"][0]["id"] = bad;
    require_refused(doc, "services[0].id");
  }
  doc = small_tree();
  doc["services"][0]["id"] = "grade_appeal-2";
  CHECK(parsed(doc).service("grade_appeal-2") != nullptr);

  doc = small_tree();
  doc["services"].push_back(doc["services"][0]);
  require_refused(doc, "services[1].id");

  doc = small_tree();
  doc["services"][0]["name"].erase("en");
  require_refused(doc, "services[0].name.en");

  doc = small_tree();
  doc["services"][0]["unit"] = "S.XX";
  require_refused(doc, "services[0].unit");
  doc["services"][0]["unit"] = 4;
  require_refused(doc, "services[0].unit");

  for (json bad : {json("question"), json("Complaint"), json(""), json(2)}) {
    INFO(bad.dump());
    doc = small_tree();
    doc["services"][0]["default_type"] = bad;
    require_refused(doc, "services[0].default_type");
  }
  for (const char* type : {"inquiry", "suggestion", "remark", "complaint", "demand", "praise"}) {
    doc = small_tree();
    doc["services"][0]["default_type"] = type;
    CHECK(parsed(doc).service("grades")->default_type == type);
  }
}

TEST_CASE("at most 2,000 services", "[org]") {
  json doc = small_tree();
  json services = json::array();
  for (std::size_t i = 0; i < node::kOrgServicesMax; ++i) {
    services.push_back(json{{"id", "s" + std::to_string(i)},
                            {"name", label("خدمة", "Service")},
                            {"unit", "S.B"},
                            {"default_type", "inquiry"}});
  }
  doc["services"] = services;
  CHECK(parsed(doc).services().size() == node::kOrgServicesMax);

  doc["services"].push_back(services[0]);
  doc["services"].back()["id"] = "one_too_many";
  require_refused(doc, "services");
}

TEST_CASE("text that is not JSON is malformed_json", "[org]") {
  for (std::string_view text : {"", "{", "{\"version\": 1,}", "not json", "{\"a\": \"\xFF\"}"}) {
    INFO(text);
    auto tree = node::OrgTree::parse_text(text);
    REQUIRE_FALSE(tree.has_value());
    CHECK(tree.error().status == 400);
    CHECK(tree.error().code == "malformed_json");
  }
  auto tree = node::OrgTree::parse_text(small_tree().dump());
  REQUIRE(tree.has_value());
  CHECK(*tree == parsed(small_tree()));
}

TEST_CASE("a key repeated inside one object is refused with its path", "[org]") {
  auto refused_at = [](std::string_view text) {
    auto tree = node::OrgTree::parse_text(text);
    REQUIRE_FALSE(tree.has_value());
    CHECK(tree.error().code == "invalid_org_tree");
    return tree.error().field;
  };
  CHECK(refused_at(R"({"version": 1, "version": 1, "units": [{"id": "S",
                      "name": {"ar": "س", "en": "S"}}]})") == "version");
  CHECK(refused_at(R"({"version": 1, "units": [{"id": "S", "name": {"ar": "س", "en": "S"}},
                      {"id": "T", "parent": "S", "parent": "T",
                       "name": {"ar": "ت", "en": "T"}}]})") == "units[1].parent");
  CHECK(refused_at(R"({"version": 1, "units": [{"id": "S", "name": {"ar": "س", "en": "S"}}],
                      "services": [7, {"id": "x", "name": {"ar": "خ", "ar": "خ", "en": "X"},
                      "unit": "S", "default_type": "praise"}]})") == "services[1].name.ar");
}

TEST_CASE("a unit may name its head, and a unit naming no head is vacant on the ladder", "[org]") {
  json doc = small_tree();
  doc["units"][1]["head"] = "dean.a";  // S.A: a person, no title
  const node::OrgTree tree = parsed(doc);
  CHECK(tree.unit("S.A")->head == "dean.a");
  CHECK(tree.unit("S")->head.empty());
  CHECK(tree.has_head("S"));    // by title
  CHECK(tree.has_head("S.A"));  // by person
  CHECK_FALSE(tree.has_head("S.A.1"));
  CHECK_FALSE(tree.has_head("nowhere"));
  CHECK(parsed(tree.to_json()) == tree);
  CHECK(tree.to_json()["units"][1]["head"] == "dean.a");

  for (const json& bad : {json("D"), json(""), json(7), json("dean a")}) {
    json refused = small_tree();
    refused["units"][2]["head"] = bad;
    require_refused(refused, "units[2].head");
  }
}

TEST_CASE("only the root may give final answers, and the mark round-trips", "[org]") {
  json doc = small_tree();
  doc["units"][0]["final"] = true;
  const node::OrgTree tree = parsed(doc);
  CHECK(tree.unit("S")->final_answer);
  CHECK_FALSE(tree.unit("S.A")->final_answer);
  CHECK(tree.to_json()["units"][0]["final"] == true);
  CHECK_FALSE(tree.to_json()["units"][1].contains("final"));
  CHECK(parsed(tree.to_json()) == tree);

  json below = small_tree();
  below["units"][1]["final"] = true;  // S.A is not the top of the ladder
  require_refused(below, "units[1].final");
  for (const json& bad : {json("yes"), json(1), json(nullptr)}) {
    json refused = small_tree();
    refused["units"][0]["final"] = bad;
    require_refused(refused, "units[0].final");
  }
}

TEST_CASE("an SLA policy sets node-wide terms and per-type terms, and round-trips", "[org][sla]") {
  CHECK(parsed(small_tree()).sla().empty());
  CHECK_FALSE(parsed(small_tree()).to_json().contains("sla"));

  json doc = small_tree();
  doc["sla"] =
      json{{"answer_working_days", 7},
           {"first_response_working_days", 2},
           {"level_working_days", 4},
           {"objection_working_days", 15},
           {"warn_percent", 75},
           {"types",
            {{"complaint", {{"answer_working_days", 5}, {"first_response_working_days", 1}}},
             {"inquiry", {{"answer_working_days", 3}}},
             {"praise", json::object()}}}};
  const node::OrgTree tree = parsed(doc);
  const node::SlaPolicy& sla = tree.sla();
  CHECK(sla.node == node::SlaTerms{7, 2, 4, 15, 75});
  REQUIRE(sla.types.size() == 3);
  CHECK(sla.types.at("complaint") == node::SlaTerms{5, 1, 0, 0, 0});
  CHECK(sla.types.at("inquiry") == node::SlaTerms{3, 0, 0, 0, 0});
  CHECK(sla.types.at("praise") == node::SlaTerms{});
  CHECK(tree.to_json()["sla"] == doc["sla"]);
  CHECK(parsed(tree.to_json()) == tree);

  // Every key is optional: types alone, or node-wide terms alone.
  doc["sla"] = json{{"types", {{"demand", {{"level_working_days", 2}}}}}};
  CHECK(parsed(doc).sla().node == node::SlaTerms{});
  CHECK(parsed(doc).sla().types.at("demand").level_working_days == 2);
  CHECK(parsed(doc).to_json()["sla"] == doc["sla"]);
  doc["sla"] = json{{"warn_percent", 90}};
  CHECK(parsed(doc).sla().node.warn_percent == 90);
  CHECK(parsed(doc).sla().types.empty());
  doc["sla"] = json::object();
  CHECK(parsed(doc).sla().empty());
}

TEST_CASE("an SLA policy with a bad shape, key, range or type is refused with its path",
          "[org][sla]") {
  auto with_sla = [](const json& sla) {
    json doc = small_tree();
    doc["sla"] = sla;
    return doc;
  };
  require_refused(with_sla(json(5)), "sla");
  require_refused(with_sla(json::array()), "sla");
  require_refused(with_sla(json{{"answer_days", 5}}), "sla.answer_days");
  require_refused(with_sla(json{{"types", json::array()}}), "sla.types");
  require_refused(with_sla(json{{"types", {{"complaint", 5}}}}), "sla.types.complaint");
  require_refused(with_sla(json{{"types", {{"complaint", {{"types", json::object()}}}}}}),
                  "sla.types.complaint.types");
  require_refused(with_sla(json{{"types", {{"complaint", {{"due_days", 5}}}}}}),
                  "sla.types.complaint.due_days");
  // Types must be case types.
  require_refused(with_sla(json{{"types", {{"question", {{"answer_working_days", 5}}}}}}),
                  "sla.types.question");
  require_refused(with_sla(json{{"types", {{"Complaint", json::object()}}}}),
                  "sla.types.Complaint");
  require_refused(with_sla(json{{"types", {{"a b", json::object()}}}}), "sla.types[\"a b\"]");

  // Whole numbers in range, node-wide and per type.
  struct Range {
    const char* key;
    int low, high;
  };
  for (const Range& r :
       {Range{"answer_working_days", 1, 60}, Range{"first_response_working_days", 1, 60},
        Range{"level_working_days", 1, 30}, Range{"objection_working_days", 1, 60},
        Range{"warn_percent", 50, 95}}) {
    INFO(r.key);
    for (const json& bad : {json(r.low - 1), json(r.high + 1), json(-1), json(3.5), json("5"),
                            json(nullptr), json(true)}) {
      INFO(bad.dump());
      require_refused(with_sla(json{{r.key, bad}}), std::string("sla.") + r.key);
      require_refused(with_sla(json{{"types", {{"remark", {{r.key, bad}}}}}}),
                      std::string("sla.types.remark.") + r.key);
    }
    // Both ends are allowed (the first response kept within the answer).
    for (int good : {r.low, r.high}) {
      json sla{{r.key, good}};
      if (std::string_view(r.key) == "first_response_working_days") sla["answer_working_days"] = 60;
      INFO(good);
      CHECK(node::OrgTree::parse(with_sla(sla)).has_value());
    }
  }
}

TEST_CASE("an SLA policy whose first response comes after the answer is refused", "[org][sla]") {
  auto with_sla = [](const json& sla) {
    json doc = small_tree();
    doc["sla"] = sla;
    return doc;
  };
  require_refused(with_sla(json{{"answer_working_days", 3}, {"first_response_working_days", 4}}),
                  "sla.first_response_working_days");
  // Against the built-in answer time (5) when the node sets none.
  require_refused(with_sla(json{{"first_response_working_days", 6}}),
                  "sla.first_response_working_days");
  // A type's own terms, and a type's terms against the node's.
  require_refused(
      with_sla(
          json{{"types",
                {{"inquiry", {{"answer_working_days", 2}, {"first_response_working_days", 3}}}}}}),
      "sla.types.inquiry.first_response_working_days");
  require_refused(with_sla(json{{"first_response_working_days", 3},
                                {"types", {{"inquiry", {{"answer_working_days", 2}}}}}}),
                  "sla.types.inquiry.answer_working_days");
  require_refused(with_sla(json{{"answer_working_days", 2},
                                {"types", {{"inquiry", {{"first_response_working_days", 4}}}}}}),
                  "sla.types.inquiry.first_response_working_days");
  // Equal is allowed; so is a type that lengthens the answer past the node's first response.
  CHECK(node::OrgTree::parse(
            with_sla(json{{"answer_working_days", 2}, {"first_response_working_days", 2}}))
            .has_value());
  CHECK(node::OrgTree::parse(
            with_sla(json{{"answer_working_days", 2},
                          {"types",
                           {{"complaint",
                             {{"answer_working_days", 10}, {"first_response_working_days", 4}}}}}}))
            .has_value());
}

TEST_CASE(
    "resolve_sla: the service wins over the type, the type over the node, the node over "
    "the defaults",
    "[org][sla]") {
  // No policy at all: the ministry's defaults.
  CHECK(node::resolve_sla(nullptr, "complaint", "", 0) ==
        node::CaseSla{"default", 5, 1, 3, 10, 80});
  CHECK(node::resolve_sla(nullptr, "complaint", "grades", 2) ==
        node::CaseSla{"service:grades", 2, 1, 3, 10, 80});

  json doc = small_tree();
  doc["sla"] = json{{"answer_working_days", 7},
                    {"first_response_working_days", 2},
                    {"level_working_days", 4},
                    {"types",
                     {{"complaint",
                       {{"answer_working_days", 4},
                        {"first_response_working_days", 1},
                        {"objection_working_days", 12},
                        {"warn_percent", 60}}},
                      {"remark", {{"level_working_days", 2}}}}}};
  const node::OrgTree tree = parsed(doc);
  const node::SlaPolicy* policy = &tree.sla();
  CHECK(node::resolve_sla(policy, "complaint", "", 0) ==
        node::CaseSla{"type:complaint", 4, 1, 4, 12, 60});
  // A type with no answer time of its own takes the node's, and its own other terms.
  CHECK(node::resolve_sla(policy, "remark", "", 0) == node::CaseSla{"node", 7, 2, 2, 10, 80});
  CHECK(node::resolve_sla(policy, "inquiry", "", 0) == node::CaseSla{"node", 7, 2, 4, 10, 80});
  CHECK(node::resolve_sla(policy, "complaint", "grades", 9) ==
        node::CaseSla{"service:grades", 9, 1, 4, 12, 60});
  // A service's answer time shorter than the first response shortens the first response.
  CHECK(node::resolve_sla(policy, "inquiry", "grades", 1) ==
        node::CaseSla{"service:grades", 1, 1, 4, 10, 80});
  // Only the node's terms: a type not listed falls through to the node, then the defaults.
  doc["sla"] = json{{"objection_working_days", 20}};
  const node::OrgTree node_only = parsed(doc);
  CHECK(node::resolve_sla(&node_only.sla(), "demand", "", 0) ==
        node::CaseSla{"default", 5, 1, 3, 20, 80});
}
