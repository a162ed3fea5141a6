// Storage: what accepts and serves data, and knows the metadata (type, help, unit) of the
// metric families it holds. The head, and later the whole TSDB and fan-out, implement it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/metric_type.h"
#include "storage/appender.h"
#include "storage/querier.h"

namespace zw::storage {

class Storage : public Appendable, public Queryable {
 public:
  virtual std::vector<std::pair<std::string, MetricMetadata>> Metadata() const = 0;
};

}  // namespace zw::storage
