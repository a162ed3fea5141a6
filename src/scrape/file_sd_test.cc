#include "scrape/file_sd.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace zw::scrape {
namespace {

namespace fs = std::filesystem;

TEST(FileSd, ParsesJsonAndYaml) {
  auto j = ParseFileSdContent(
      R"([{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}}, {"targets": ["c:3"]}])",
      "/x/t.json");
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  ASSERT_EQ(j->size(), 2u);
  EXPECT_EQ((*j)[0].targets.size(), 2u);
  EXPECT_EQ((*j)[0].labels, (Labels{{"__meta_filepath", "/x/t.json"}, {"env", "prod"}}));
  auto y = ParseFileSdContent("- targets: [\"d:4\"]\n  labels: {team: x}\n", "/x/t.yml");
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  EXPECT_EQ((*y)[0].targets[0].Get("__address__"), "d:4");
}

TEST(FileSd, BadContentNamesFileAndGroup) {
  for (const auto& [content, expect] : std::vector<std::pair<std::string, std::string>>{
           {R"({"targets": []})", "must be a list"},
           {R"([{"targets": ["a/b"]}])", "group 0: target \"a/b\""},
           {R"([{"targets": ["a:1"], "labels": {"0x": "y"}}])", "not a valid label name"},
           {R"([{"targets": ["a:1"], "lables": {}}])", "unknown field \"lables\""},
           {"[{", "/f.json"},
       }) {
    auto r = ParseFileSdContent(content, "/f.json");
    ASSERT_FALSE(r.ok()) << content;
    EXPECT_NE(r.status().message().find(expect), std::string::npos) << r.status().message();
  }
}

TEST(FileSd, PollSeesGlobChangesAndKeepsGroupsOfBrokenFiles) {
  fs::path dir = fs::temp_directory_path() / ("zw_file_sd_" + std::to_string(getpid()));
  fs::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
  };
  write("a.json", R"([{"targets": ["a:1"]}])");
  FileSdConfig c;
  c.files = {(dir / "*.json").string()};
  FileDiscovery d({c});
  auto first = d.Poll();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->size(), 1u);
  EXPECT_FALSE(d.Poll().has_value());  // nothing changed

  write("b.json", R"([{"targets": ["b:1", "b:2"]}])");
  auto second = d.Poll();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->size(), 2u);

  write("b.json", "[{not json");  // broken: b keeps its targets
  EXPECT_FALSE(d.Poll().has_value());

  fs::remove(dir / "b.json");
  auto fourth = d.Poll();
  ASSERT_TRUE(fourth.has_value());
  ASSERT_EQ(fourth->size(), 1u);
  EXPECT_EQ((*fourth)[0].targets[0].Get("__address__"), "a:1");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace zw::scrape
