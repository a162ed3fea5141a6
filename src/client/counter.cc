#include "zenwatch/counter.h"

namespace zenwatch {

Counter::Counter() : cells_(1, 1) {}

double Counter::Value() const {
  std::uint64_t whole[1];
  double fraction[1];
  cells_.ReadSums(whole, fraction);
  return static_cast<double>(whole[0]) + fraction[0];
}

}  // namespace zenwatch
