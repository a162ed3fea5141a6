#include "scrape/relabel.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

namespace zw::scrape {
namespace {

std::string Hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

RelabelConfig Make(RelabelConfig spec) {
  auto r = MakeRelabelConfig(std::move(spec));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : RelabelConfig{};
}

std::vector<RelabelConfig> Yaml(const std::string& text) {
  auto r = ParseRelabelConfigs(YAML::Load(text));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : std::vector<RelabelConfig>{};
}

// The error message from parsing `text`, or "" when it parses.
std::string YamlError(const std::string& text) {
  auto r = ParseRelabelConfigs(YAML::Load(text));
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

std::optional<Labels> Apply(const Labels& in, const std::string& yaml) {
  auto cfgs = Yaml(yaml);
  return Relabel(in, cfgs);
}

const Labels kABC{{"a", "foo"}, {"b", "bar"}, {"c", "baz"}};

// ---------------------------------------------------------------------------------------
// MD5 and template expansion.

TEST(Md5Test, KnownDigests) {
  // Digests from python3 hashlib.md5; lengths straddle the 55/56/64-byte padding edges.
  EXPECT_EQ(Hex(Md5Digest("")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Hex(Md5Digest("a")), "0cc175b9c0f1b6a831c399e269772661");
  EXPECT_EQ(Hex(Md5Digest("abc")), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(Hex(Md5Digest("message digest")), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(Hex(Md5Digest(std::string(55, 'x'))), "04364420e25c512fd958a70738aa8f72");
  EXPECT_EQ(Hex(Md5Digest(std::string(56, 'x'))), "668a72d5ba17f08e62dabcafad6db14b");
  EXPECT_EQ(Hex(Md5Digest(std::string(64, 'x'))), "c1bb4f81d892b2d57947682aeb252456");
  EXPECT_EQ(Hex(Md5Digest(std::string(119, 'x'))), "ab347a5f68c8a443cfcddc633f12c24f");
  EXPECT_EQ(Hex(Md5Digest(std::string(1000, 'x'))), "398533d48111e9f664b1f64cb10c4b63");
}

std::string Expand(const std::string& pattern, std::string_view text, std::string_view tmpl) {
  re2::RE2 re("^(?:" + pattern + ")$");
  std::vector<re2::StringPiece> pieces(static_cast<size_t>(re.NumberOfCapturingGroups()) + 1);
  EXPECT_TRUE(re.Match(re2::StringPiece(text.data(), text.size()), 0, text.size(),
                       re2::RE2::ANCHOR_BOTH, pieces.data(), static_cast<int>(pieces.size())));
  std::vector<std::string_view> groups;
  for (const auto& p : pieces) groups.emplace_back(p.data(), p.size());
  return ExpandTemplate(re, tmpl, groups);
}

TEST(ExpandTemplateTest, NumberedAndBraced) {
  EXPECT_EQ(Expand("(a+)(b+)", "aabbb", "$2-$1"), "bbb-aa");
  EXPECT_EQ(Expand("(a+)(b+)", "aabbb", "${1}x"), "aax");
  EXPECT_EQ(Expand("(a+)(b+)", "aabbb", "$0"), "aabbb");
}

TEST(ExpandTemplateTest, NameRunsGreedily) {
  // "$1x" names group "1x", which does not exist: it expands to "".
  EXPECT_EQ(Expand("(a+)", "aa", "$1x"), "");
  EXPECT_EQ(Expand("(a+)", "aa", "$1_suffix"), "");
  EXPECT_EQ(Expand("(a+)", "aa", "$1-suffix"), "aa-suffix");
}

TEST(ExpandTemplateTest, NamedGroups) {
  EXPECT_EQ(Expand("(?P<host>[^:]+):(?P<port>\\d+)", "h1:80", "$port@${host}"), "80@h1");
  EXPECT_EQ(Expand("(?P<host>[^:]+):(?P<port>\\d+)", "h1:80", "$nope"), "");
}

TEST(ExpandTemplateTest, MissingAndUnmatchedGroupsAreEmpty) {
  EXPECT_EQ(Expand("(a)|(b)", "b", "[$1][$2][$3]"), "[][b][]");
  EXPECT_EQ(Expand("(a)", "a", "${99999999999}"), "");
  EXPECT_EQ(Expand("(a)", "a", "$01"), "");  // leading zero: a name, not group 1
}

TEST(ExpandTemplateTest, DollarEscapesAndMalformed) {
  EXPECT_EQ(Expand("(a)", "a", "$$1"), "$1");
  EXPECT_EQ(Expand("(a)", "a", "cost$"), "cost$");
  EXPECT_EQ(Expand("(a)", "a", "$-$1"), "$-a");
  EXPECT_EQ(Expand("(a)", "a", "${1"), "${1");
  EXPECT_EQ(Expand("(a)", "a", "${}"), "${}");
  EXPECT_EQ(Expand("(a)", "a", "no refs"), "no refs");
}

// ---------------------------------------------------------------------------------------
// Defaults and construction.

TEST(RelabelConfigTest, Defaults) {
  RelabelConfig c;
  EXPECT_EQ(c.separator, ";");
  EXPECT_EQ(c.regex, "(.*)");
  EXPECT_EQ(c.replacement, "$1");
  EXPECT_EQ(c.modulus, 0u);
  EXPECT_EQ(c.action, RelabelAction::kReplace);
  EXPECT_EQ(c.compiled_regex, nullptr);

  auto parsed = Yaml("- target_label: x\n");
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0].separator, ";");
  EXPECT_EQ(parsed[0].regex, "(.*)");
  EXPECT_EQ(parsed[0].replacement, "$1");
  EXPECT_EQ(parsed[0].action, RelabelAction::kReplace);
  ASSERT_NE(parsed[0].compiled_regex, nullptr);
  EXPECT_EQ(parsed[0].compiled_regex->pattern(), "^(?:(.*))$");
}

TEST(RelabelConfigTest, ActionNamesRoundTripCaseInsensitively) {
  for (auto a : {RelabelAction::kReplace, RelabelAction::kKeep, RelabelAction::kDrop,
                 RelabelAction::kKeepEqual, RelabelAction::kDropEqual, RelabelAction::kHashMod,
                 RelabelAction::kLabelMap, RelabelAction::kLabelDrop, RelabelAction::kLabelKeep,
                 RelabelAction::kLowercase, RelabelAction::kUppercase}) {
    EXPECT_EQ(ParseRelabelAction(RelabelActionName(a)), a);
  }
  EXPECT_EQ(ParseRelabelAction("LabelMap"), RelabelAction::kLabelMap);
  EXPECT_EQ(ParseRelabelAction("DROP"), RelabelAction::kDrop);
  EXPECT_EQ(ParseRelabelAction("delete"), std::nullopt);
}

TEST(RelabelConfigTest, CopiesShareCompiledRegex) {
  RelabelConfig c = Make({.regex = "a.*", .target_label = "x"});
  RelabelConfig copy = c;
  EXPECT_EQ(copy.compiled_regex.get(), c.compiled_regex.get());
}

// ---------------------------------------------------------------------------------------
// replace

TEST(RelabelReplaceTest, DefaultCopiesSourceToTarget) {
  auto out = Apply(kABC, "- source_labels: [a]\n  target_label: d\n");
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, (Labels{{"a", "foo"}, {"b", "bar"}, {"c", "baz"}, {"d", "foo"}}));
}

TEST(RelabelReplaceTest, RegexGroupsAndSeparator) {
  auto out = Apply(kABC, R"y(
- source_labels: [a, b]
  regex: "f(.*);(.*)r"
  target_label: a
  replacement: "ch${1}-ch${2}"
)y");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->Get("a"), "choo-chba");
}

TEST(RelabelReplaceTest, CustomSeparator) {
  auto out = Apply(kABC, R"y(
- source_labels: [a, b, c]
  separator: "|"
  target_label: d
)y");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->Get("d"), "foo|bar|baz");
}

TEST(RelabelReplaceTest, MissingSourceLabelsAreEmpty) {
  auto out = Apply(kABC, R"y(
- source_labels: [a, missing, c]
  target_label: d
)y");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->Get("d"), "foo;;baz");
}

TEST(RelabelReplaceTest, NoMatchLeavesSetAlone) {
  auto out = Apply(kABC, R"y(
- source_labels: [a]
  regex: "o"
  target_label: a
  replacement: "changed"
)y");
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, kABC);
}

TEST(RelabelReplaceTest, RegexIsFullyAnchored) {
  // "oo" would match inside "foo" unanchored; anchored it does not match.
  auto out = Apply(kABC, R"y(
- source_labels: [a]
  regex: "oo"
  target_label: x
  replacement: "hit"
- source_labels: [a]
  regex: "f|foo"
  target_label: y
  replacement: "whole"
)y");
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->Has("x"));
  EXPECT_EQ(out->Get("y"), "whole");
}

TEST(RelabelReplaceTest, EmptyReplacementDeletesTarget) {
  auto out = Apply(kABC, R"y(
- source_labels: [a]
  regex: "foo"
  target_label: b
  replacement: ""
)y");
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, (Labels{{"a", "foo"}, {"c", "baz"}}));
}

TEST(RelabelReplaceTest, EmptySourceSetsLiteralReplacement) {
  // No source labels: value "" matches (.*), so the literal replacement is written.
  auto out = Apply(kABC, "- target_label: env\n  replacement: prod\n");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->Get("env"), "prod");
}

TEST(RelabelReplaceTest, EmptyDefaultExpansionDeletesTarget) {
  // Source "" with default replacement "$1" expands to "": the target is removed.
  auto out = Apply(kABC, "- source_labels: [missing]\n  target_label: a\n");
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->Has("a"));
}

TEST(RelabelReplaceTest, TemplatedTargetLabel) {
  auto out = Apply(kABC, R"y(
- source_labels: [a]
  regex: "some-([^-]+)-([^,]+)|(f)oo"
  target_label: "${3}_new"
  replacement: "${3}x"
)y");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->Get("f_new"), "fx");
}

TEST(RelabelReplaceTest, InvalidExpandedTargetIsSkipped) {
  // Target expands to "1bad": not a label name, so nothing changes.
  Labels in{{"a", "1bad"}};
  auto out = Apply(in, R"y(
- source_labels: [a]
  regex: "(.*)"
  target_label: "$1"
  replacement: "v"
)y");
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, in);
  // And a target that expands to "" is skipped too.
  auto out2 = Apply(in, R"y(
- source_labels: [a]
  target_label: "$9"
  replacement: "v"
)y");
  ASSERT_TRUE(out2);
  EXPECT_EQ(*out2, in);
}

TEST(RelabelReplaceTest, DollarOneXNeedsBraces) {
  auto out = Apply(kABC, R"y(
- source_labels: [a]
  target_label: x
  replacement: "$1x"
- source_labels: [a]
  target_label: y
  replacement: "${1}x"
)y");
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->Has("x"));  // "$1x" is group "1x": empty, so x is not set
  EXPECT_EQ(out->Get("y"), "foox");
}

TEST(RelabelReplaceTest, NamedGroupsInReplacement) {
  Labels in{{"__address__", "10.0.0.1:9100"}};
  auto out = Apply(in, R"y(
- source_labels: [__address__]
  regex: '(?P<ip>[^:]+):(?P<port>[0-9]+)'
  target_label: instance
  replacement: "$ip"
)y");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->Get("instance"), "10.0.0.1");
}

TEST(RelabelReplaceTest, RegexDotDoesNotMatchNewline) {
  Labels in{{"a", "x\ny"}};
  auto out =
      Apply(in, "- source_labels: [a]\n  regex: 'x.y'\n  target_label: b\n  replacement: hit\n");
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->Has("b"));
}

// ---------------------------------------------------------------------------------------
// keep / drop

TEST(RelabelKeepDropTest, DropOnMatch) {
  EXPECT_FALSE(Apply(kABC, "- source_labels: [a]\n  regex: 'f.*'\n  action: drop\n"));
  EXPECT_TRUE(Apply(kABC, "- source_labels: [a]\n  regex: 'o.*'\n  action: drop\n"));
}

TEST(RelabelKeepDropTest, KeepOnMatch) {
  EXPECT_TRUE(Apply(kABC, "- source_labels: [a]\n  regex: 'f.*'\n  action: keep\n"));
  EXPECT_FALSE(Apply(kABC, "- source_labels: [a]\n  regex: 'o.*'\n  action: keep\n"));
}

TEST(RelabelKeepDropTest, KeepOnMissingLabelMatchesEmpty) {
  EXPECT_FALSE(Apply(kABC, "- source_labels: [missing]\n  regex: '.+'\n  action: keep\n"));
  EXPECT_TRUE(Apply(kABC, "- source_labels: [missing]\n  regex: ''\n  action: keep\n"));
}

TEST(RelabelKeepDropTest, DropStopsLaterSteps) {
  auto cfgs = Yaml(R"y(
- source_labels: [a]
  regex: foo
  action: drop
- target_label: never
  replacement: x
)y");
  EXPECT_FALSE(Relabel(kABC, cfgs));
}

TEST(RelabelKeepDropTest, MultipleSourcesJoined) {
  EXPECT_FALSE(Apply(kABC, "- source_labels: [a, b]\n  regex: 'foo;bar'\n  action: drop\n"));
  EXPECT_TRUE(Apply(kABC, "- source_labels: [a, b]\n  regex: 'foo;baz'\n  action: drop\n"));
}

// ---------------------------------------------------------------------------------------
// keepequal / dropequal

TEST(RelabelEqualTest, KeepEqual) {
  Labels in{{"a", "x"}, {"b", "x"}, {"c", "y"}};
  EXPECT_TRUE(Apply(in, "- source_labels: [a]\n  target_label: b\n  action: keepequal\n"));
  EXPECT_FALSE(Apply(in, "- source_labels: [a]\n  target_label: c\n  action: keepequal\n"));
}

TEST(RelabelEqualTest, DropEqual) {
  Labels in{{"a", "x"}, {"b", "x"}, {"c", "y"}};
  EXPECT_FALSE(Apply(in, "- source_labels: [a]\n  target_label: b\n  action: dropequal\n"));
  EXPECT_TRUE(Apply(in, "- source_labels: [a]\n  target_label: c\n  action: dropequal\n"));
}

TEST(RelabelEqualTest, MissingBothSidesAreEqual) {
  Labels in{{"a", "x"}};
  EXPECT_FALSE(Apply(in, "- source_labels: [m1]\n  target_label: m2\n  action: dropequal\n"));
  EXPECT_TRUE(Apply(in, "- source_labels: [m1]\n  target_label: m2\n  action: keepequal\n"));
}

TEST(RelabelEqualTest, ComparesJoinedSources) {
  Labels in{{"a", "x"}, {"b", "y"}, {"c", "x;y"}};
  EXPECT_TRUE(Apply(in, "- source_labels: [a, b]\n  target_label: c\n  action: keepequal\n"));
}

// ---------------------------------------------------------------------------------------
// hashmod (expected values: python3 hashlib, last 8 digest bytes big-endian, mod m)

TEST(RelabelHashModTest, MatchesLast8BytesOfMd5) {
  auto out =
      Apply(kABC, "- source_labels: [c]\n  target_label: d\n  modulus: 1000\n  action: hashmod\n");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->Get("d"), "976");  // md5("baz")
  auto out2 =
      Apply(kABC, "- source_labels: [a]\n  target_label: d\n  modulus: 1000\n  action: hashmod\n");
  ASSERT_TRUE(out2);
  EXPECT_EQ(out2->Get("d"), "696");  // md5("foo")
}

TEST(RelabelHashModTest, JoinedSourcesAndSmallModulus) {
  Labels in{{"__address__", "10.0.0.1:9100"}, {"a", "foo"}, {"b", "bar"}};
  auto out = Apply(in, R"y(
- source_labels: [__address__]
  target_label: __tmp_hash
  modulus: 7
  action: hashmod
- source_labels: [a, b]
  target_label: joined
  modulus: 1000
  action: hashmod
)y");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->Get("__tmp_hash"), "2");
  EXPECT_EQ(out->Get("joined"), "750");  // md5("foo;bar")
}

TEST(RelabelHashModTest, EmptyValueAndHugeModulus) {
  auto out = Apply(kABC, R"y(
- source_labels: [missing]
  target_label: e
  modulus: 1000
  action: hashmod
- source_labels: [a]
  target_label: big
  modulus: 18446744073709551615
  action: hashmod
- source_labels: [a]
  target_label: one
  modulus: 1
  action: hashmod
)y");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->Get("e"), "958");  // md5("")
  EXPECT_EQ(out->Get("big"), "17145033699835028696");
  EXPECT_EQ(out->Get("one"), "0");
}

// ---------------------------------------------------------------------------------------
// labelmap / labeldrop / labelkeep

TEST(RelabelLabelMapTest, CopiesMatchingNames) {
  Labels in{{"__meta_kubernetes_pod_label_app", "web"},
            {"__meta_kubernetes_pod_label_tier", "fe"},
            {"job", "j"}};
  auto out = Apply(in, "- regex: '__meta_kubernetes_pod_label_(.+)'\n  action: labelmap\n");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->Get("app"), "web");
  EXPECT_EQ(out->Get("tier"), "fe");
  EXPECT_EQ(out->Get("__meta_kubernetes_pod_label_app"), "web");  // originals stay
  EXPECT_EQ(out->size(), 5u);
}

TEST(RelabelLabelMapTest, TemplatedReplacementAndOverwrite) {
  Labels in{{"a", "foo"}, {"b", "bar"}, {"c", "baz"}};
  auto out = Apply(in,
                   "- regex: '(b)'\n  replacement: '${1}_copy'\n  action: labelmap\n"
                   "- regex: '(a)'\n  replacement: 'c'\n  action: labelmap\n");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->Get("b_copy"), "bar");
  EXPECT_EQ(out->Get("c"), "foo");  // overwritten by a's value
}

TEST(RelabelLabelMapTest, MapsFromSnapshotBeforeStep) {
  // a -> b and b -> c in one step: c gets b's ORIGINAL value.
  Labels in{{"a", "1"}, {"b", "2"}};
  auto out = Apply(in, R"y(
- regex: "(a|b)"
  replacement: "${1}x"
  action: labelmap
)y");
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, (Labels{{"a", "1"}, {"ax", "1"}, {"b", "2"}, {"bx", "2"}}));
}

TEST(RelabelLabelMapTest, RegexIsAnchoredOnNames) {
  Labels in{{"xfoo", "1"}, {"foo", "2"}};
  auto out = Apply(in, "- regex: 'foo'\n  replacement: 'bar'\n  action: labelmap\n");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->Get("bar"), "2");
}

TEST(RelabelLabelDropTest, DropsMatchingNames) {
  auto out = Apply(kABC, "- regex: '(b|c)'\n  action: labeldrop\n");
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, (Labels{{"a", "foo"}}));
}

TEST(RelabelLabelKeepTest, KeepsMatchingNames) {
  auto out = Apply(kABC, "- regex: '(b|c)'\n  action: labelkeep\n");
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, (Labels{{"b", "bar"}, {"c", "baz"}}));
}

TEST(RelabelLabelKeepTest, RemovingEverythingGivesNullopt) {
  EXPECT_FALSE(Apply(kABC, "- regex: 'nothing'\n  action: labelkeep\n"));
  EXPECT_FALSE(Apply(kABC, "- regex: '.*'\n  action: labeldrop\n"));
}

// ---------------------------------------------------------------------------------------
// lowercase / uppercase

TEST(RelabelCaseTest, LowercaseAndUppercase) {
  Labels in{{"foo", "bAr123Foo"}, {"bar", "X"}};
  auto out = Apply(in, R"y(
- source_labels: [foo, bar]
  target_label: lower
  action: lowercase
- source_labels: [foo]
  target_label: upper
  action: UpperCase
)y");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->Get("lower"), "bar123foo;x");
  EXPECT_EQ(out->Get("upper"), "BAR123FOO");
}

TEST(RelabelCaseTest, EmptySourceDeletesTarget) {
  auto out = Apply(kABC, "- source_labels: [missing]\n  target_label: a\n  action: lowercase\n");
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->Has("a"));
}

// ---------------------------------------------------------------------------------------
// Relabel as a whole

TEST(RelabelTest, NoConfigsReturnsInput) {
  EXPECT_EQ(Relabel(kABC, {}), kABC);
  EXPECT_FALSE(Relabel(Labels(), {}));
}

TEST(RelabelTest, StepsSeeEarlierSteps) {
  auto out = Apply(kABC, R"y(
- source_labels: [a]
  target_label: tmp
  replacement: "pre-$1"
- source_labels: [tmp]
  regex: "pre-(.*)"
  target_label: final
  replacement: "$1!"
- regex: tmp
  action: labeldrop
)y");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->Get("final"), "foo!");
  EXPECT_FALSE(out->Has("tmp"));
}

TEST(RelabelTest, InputIsNotModified) {
  Labels in = kABC;
  auto out = Apply(in, "- regex: 'a'\n  action: labeldrop\n");
  ASSERT_TRUE(out);
  EXPECT_EQ(in, kABC);
  EXPECT_FALSE(out->Has("a"));
}

// ---------------------------------------------------------------------------------------
// YAML parsing

TEST(ParseRelabelConfigsTest, AllFields) {
  auto cfgs = Yaml(R"y(
- source_labels: [__address__, job]
  separator: "/"
  regex: "(.+)"
  modulus: 0
  target_label: t
  replacement: "r$1"
  action: replace
- source_labels: [x]
  modulus: 8
  target_label: shard
  action: hashmod
)y");
  ASSERT_EQ(cfgs.size(), 2u);
  EXPECT_EQ(cfgs[0].source_labels, (std::vector<std::string>{"__address__", "job"}));
  EXPECT_EQ(cfgs[0].separator, "/");
  EXPECT_EQ(cfgs[0].regex, "(.+)");
  EXPECT_EQ(cfgs[0].target_label, "t");
  EXPECT_EQ(cfgs[0].replacement, "r$1");
  EXPECT_EQ(cfgs[1].modulus, 8u);
  EXPECT_EQ(cfgs[1].action, RelabelAction::kHashMod);
}

TEST(ParseRelabelConfigsTest, NullAndEmptyAreEmptyLists) {
  EXPECT_TRUE(Yaml("").empty());
  EXPECT_TRUE(Yaml("~").empty());
  EXPECT_TRUE(Yaml("[]").empty());
  auto r = ParseRelabelConfigs(YAML::Node());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST(ParseRelabelConfigsTest, NullFieldsTakeZeroValues) {
  // As with Go's YAML decoder: "regex:" with no value is the empty regex, which matches
  // only "" (and "separator:" is "").
  auto cfgs = Yaml("- source_labels: [a, b]\n  separator:\n  regex:\n  action: keep\n");
  ASSERT_EQ(cfgs.size(), 1u);
  EXPECT_EQ(cfgs[0].regex, "");
  EXPECT_EQ(cfgs[0].separator, "");
  EXPECT_FALSE(Relabel(kABC, cfgs));
  EXPECT_TRUE(Relabel(Labels{{"c", "x"}}, cfgs));
}

TEST(ParseRelabelConfigsTest, StructuralErrors) {
  EXPECT_NE(YamlError("foo: bar"), "");
  EXPECT_NE(YamlError("- 3"), "");
  EXPECT_NE(YamlError("- source_labels: a\n  target_label: x\n").find("source_labels"),
            std::string::npos);
  EXPECT_NE(YamlError("- source_labels: [[a]]\n  target_label: x\n").find("source_labels"),
            std::string::npos);
  EXPECT_NE(YamlError("- target_label: [x]\n").find("target_label"), std::string::npos);
  EXPECT_NE(YamlError("- target_label: x\n  bogus: 1\n").find("bogus"), std::string::npos);
}

TEST(ParseRelabelConfigsTest, ErrorNamesEntryIndex) {
  std::string err = YamlError("- target_label: x\n- action: hashmod\n  target_label: y\n");
  EXPECT_NE(err.find("relabel_configs[1]"), std::string::npos) << err;
  EXPECT_NE(err.find("modulus"), std::string::npos) << err;
}

TEST(ParseRelabelConfigsTest, BadModulus) {
  for (const char* m : {"-1", "abc", "1.5", "18446744073709551616", "[1]"}) {
    std::string err =
        YamlError(std::string("- action: hashmod\n  target_label: y\n  modulus: ") + m + "\n");
    EXPECT_NE(err.find("modulus"), std::string::npos) << m << ": " << err;
  }
}

TEST(ParseRelabelConfigsTest, BadAction) {
  EXPECT_NE(YamlError("- action: explode\n").find("unknown relabel action"), std::string::npos);
  EXPECT_NE(YamlError("- action:\n").find("action"), std::string::npos);
}

// ---------------------------------------------------------------------------------------
// Validation (one case per Prometheus rule)

std::string ValidationError(RelabelConfig spec) {
  auto r = MakeRelabelConfig(std::move(spec));
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

bool Mentions(const std::string& err, std::string_view field) {
  return err.find(field) != std::string::npos;
}

TEST(RelabelValidateTest, TargetLabelRequired) {
  for (auto a : {RelabelAction::kReplace, RelabelAction::kLowercase, RelabelAction::kUppercase,
                 RelabelAction::kKeepEqual, RelabelAction::kDropEqual}) {
    EXPECT_TRUE(Mentions(ValidationError({.action = a}), "target_label")) << RelabelActionName(a);
  }
  EXPECT_TRUE(
      Mentions(ValidationError({.modulus = 3, .action = RelabelAction::kHashMod}), "target_label"));
}

TEST(RelabelValidateTest, HashModNeedsModulus) {
  EXPECT_TRUE(Mentions(ValidationError({.target_label = "x", .action = RelabelAction::kHashMod}),
                       "modulus"));
  EXPECT_TRUE(Mentions(
      ValidationError({.modulus = 2, .target_label = "1x", .action = RelabelAction::kHashMod}),
      "target_label"));
}

TEST(RelabelValidateTest, ReplaceTargetLabelNames) {
  EXPECT_TRUE(Mentions(ValidationError({.target_label = "0abc"}), "target_label"));
  EXPECT_TRUE(Mentions(ValidationError({.target_label = "a-b"}), "target_label"));
  // With templates the relabelTarget shape applies.
  EXPECT_EQ(ValidationError({.target_label = "${1}"}), "");
  EXPECT_EQ(ValidationError({.target_label = "prefix_$1_${name}x"}), "");
  EXPECT_TRUE(Mentions(ValidationError({.target_label = "$1-x"}), "target_label"));
  EXPECT_TRUE(Mentions(ValidationError({.target_label = "$"}), "target_label"));
}

TEST(RelabelValidateTest, CaseAndEqualActions) {
  EXPECT_TRUE(Mentions(ValidationError({.target_label = "$1", .action = RelabelAction::kLowercase}),
                       "target_label"));
  EXPECT_TRUE(
      Mentions(ValidationError(
                   {.target_label = "x", .replacement = "y", .action = RelabelAction::kUppercase}),
               "replacement"));
  EXPECT_TRUE(
      Mentions(ValidationError(
                   {.target_label = "x", .replacement = "y", .action = RelabelAction::kKeepEqual}),
               "replacement"));
  EXPECT_TRUE(Mentions(
      ValidationError({.regex = "a", .target_label = "x", .action = RelabelAction::kDropEqual}),
      "regex"));
  EXPECT_TRUE(Mentions(
      ValidationError({.separator = ",", .target_label = "x", .action = RelabelAction::kKeepEqual}),
      "separator"));
  EXPECT_TRUE(Mentions(
      ValidationError({.modulus = 2, .target_label = "x", .action = RelabelAction::kKeepEqual}),
      "modulus"));
  EXPECT_EQ(
      ValidationError(
          {.source_labels = {"a", "b"}, .target_label = "x", .action = RelabelAction::kDropEqual}),
      "");
}

TEST(RelabelValidateTest, LabelMapReplacementShape) {
  EXPECT_EQ(ValidationError({.regex = "(.*)", .action = RelabelAction::kLabelMap}), "");
  EXPECT_EQ(ValidationError({.replacement = "k8s_$1", .action = RelabelAction::kLabelMap}), "");
  EXPECT_TRUE(Mentions(ValidationError({.replacement = "a-$1", .action = RelabelAction::kLabelMap}),
                       "replacement"));
  EXPECT_TRUE(Mentions(ValidationError({.replacement = "", .action = RelabelAction::kLabelMap}),
                       "replacement"));
}

TEST(RelabelValidateTest, LabelDropKeepTakeOnlyRegex) {
  for (auto a : {RelabelAction::kLabelDrop, RelabelAction::kLabelKeep}) {
    EXPECT_EQ(ValidationError({.regex = "x", .action = a}), "");
    EXPECT_TRUE(Mentions(ValidationError({.source_labels = {"a"}, .action = a}), "source_labels"));
    EXPECT_TRUE(Mentions(ValidationError({.target_label = "t", .action = a}), "target_label"));
    EXPECT_TRUE(Mentions(ValidationError({.modulus = 2, .action = a}), "modulus"));
    EXPECT_TRUE(Mentions(ValidationError({.separator = ",", .action = a}), "separator"));
    EXPECT_TRUE(Mentions(ValidationError({.replacement = "r", .action = a}), "replacement"));
  }
}

TEST(RelabelValidateTest, BadRegexAndSourceLabels) {
  EXPECT_TRUE(Mentions(ValidationError({.regex = "(unclosed", .target_label = "x"}), "regex"));
  EXPECT_TRUE(Mentions(ValidationError({.regex = "a{2,1}", .target_label = "x"}), "regex"));
  EXPECT_TRUE(Mentions(ValidationError({.source_labels = {"ok", "not-ok"}, .target_label = "x"}),
                       "source_labels"));
}

TEST(RelabelValidateTest, YamlSurfacesValidation) {
  EXPECT_TRUE(Mentions(YamlError("- action: replace\n"), "target_label"));
  EXPECT_TRUE(Mentions(YamlError("- action: labeldrop\n  source_labels: [a]\n"), "source_labels"));
  EXPECT_TRUE(Mentions(YamlError("- target_label: x\n  regex: '('\n"), "regex"));
  EXPECT_TRUE(
      Mentions(YamlError("- target_label: x\n  source_labels: ['a b']\n"), "source_labels"));
}

}  // namespace
}  // namespace zw::scrape
