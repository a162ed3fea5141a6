#include "core/labels.h"

#include <algorithm>
#include <memory>
#include <new>
#include <type_traits>

#include <xxhash.h>

#include "core/symbols.h"

namespace zw {
namespace {

constexpr char kSep = '\xff';

// Hashes name/value pairs the way Labels::Hash does, over a filtered subset.
template <typename Pred>
uint64_t HashPairs(std::span<const Label> labels, Pred keep) {
  thread_local std::string buf;
  buf.clear();
  for (const Label& l : labels) {
    if (!keep(l.name)) continue;
    buf.append(l.name);
    buf.push_back(kSep);
    buf.append(l.value);
    buf.push_back(kSep);
  }
  return XXH3_64bits(buf.data(), buf.size());
}

void AppendEscaped(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out.push_back(c);
    }
  }
}

}  // namespace

Labels::Labels(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs)
    : Labels(FromPairs({pairs.begin(), pairs.end()})) {}

Labels Labels::FromPairs(std::vector<std::pair<std::string_view, std::string_view>> pairs) {
  // Stable sort so that for duplicate names the last one given wins below.
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Label> out;
  out.reserve(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (i + 1 < pairs.size() && pairs[i + 1].first == pairs[i].first) continue;
    if (pairs[i].second.empty()) continue;
    out.push_back({Intern(pairs[i].first), Intern(pairs[i].second)});
  }
  return FromSortedInterned(std::move(out));
}

Labels Labels::FromSortedInterned(std::vector<Label> sorted) {
  Labels l;
  if (sorted.empty()) return l;
  void* mem = ::operator new(sizeof(Rep) + sorted.size() * sizeof(Label));
  Rep* rep = new (mem) Rep{{1}, static_cast<uint32_t>(sorted.size()), 0};
  std::uninitialized_copy(sorted.begin(), sorted.end(), rep->pairs());
  rep->hash = HashPairs(std::span<const Label>(rep->pairs(), rep->size),
                        [](std::string_view) { return true; });
  l.rep_ = rep;
  return l;
}

void Labels::Free(Rep* rep) noexcept {
  static_assert(std::is_trivially_destructible_v<Label>);
  rep->~Rep();
  ::operator delete(rep);
}

uint64_t Labels::EmptyHash() {
  static const uint64_t hash = XXH3_64bits(nullptr, 0);
  return hash;
}

size_t Labels::BlockBytes() const { return rep_ ? sizeof(Rep) + rep_->size * sizeof(Label) : 0; }

std::string_view Labels::Get(std::string_view name) const {
  auto it = std::lower_bound(begin(), end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  return it != end() && it->name == name ? it->value : std::string_view();
}

bool Labels::Has(std::string_view name) const { return !Get(name).empty(); }

uint64_t Labels::HashFor(const std::vector<std::string>& names) const {
  return HashPairs({begin(), size()}, [&](std::string_view n) {
    return std::find(names.begin(), names.end(), n) != names.end();
  });
}

uint64_t Labels::HashWithout(const std::vector<std::string>& names) const {
  return HashPairs({begin(), size()}, [&](std::string_view n) {
    return n != kMetricNameLabel && std::find(names.begin(), names.end(), n) == names.end();
  });
}

std::string Labels::ToString() const {
  std::string out;
  std::string_view name = MetricName();
  out.append(name);
  out.push_back('{');
  bool first = true;
  for (const Label& l : *this) {
    if (l.name == kMetricNameLabel) continue;
    if (!first) out += ", ";
    first = false;
    out.append(l.name);
    out += "=\"";
    AppendEscaped(out, l.value);
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

size_t Labels::ByteSize() const {
  size_t n = 0;
  for (const Label& l : *this) n += l.name.size() + l.value.size();
  return n;
}

std::strong_ordering operator<=>(const Labels& a, const Labels& b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (auto c = a[i].name <=> b[i].name; c != 0) return c;
    if (auto c = a[i].value <=> b[i].value; c != 0) return c;
  }
  return a.size() <=> b.size();
}

LabelsBuilder::LabelsBuilder(const Labels& base) {
  pairs_.reserve(base.size());
  for (const Label& l : base) pairs_.emplace_back(std::string(l.name), std::string(l.value));
}

LabelsBuilder& LabelsBuilder::Set(std::string_view name, std::string_view value) {
  for (auto& p : pairs_) {
    if (p.first == name) {
      p.second = std::string(value);
      return *this;
    }
  }
  pairs_.emplace_back(std::string(name), std::string(value));
  return *this;
}

LabelsBuilder& LabelsBuilder::Del(std::string_view name) { return Set(name, ""); }

std::string_view LabelsBuilder::Get(std::string_view name) const {
  for (const auto& p : pairs_) {
    if (p.first == name) return p.second;
  }
  return {};
}

Labels LabelsBuilder::Build() const {
  std::vector<std::pair<std::string_view, std::string_view>> v;
  v.reserve(pairs_.size());
  for (const auto& p : pairs_) v.emplace_back(p.first, p.second);
  return Labels::FromPairs(std::move(v));
}

}  // namespace zw
