// Reading downsampled blocks as if they held raw data (docs/downsampling.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "storage/querier.h"
#include "tsdb/block/block.h"
#include "tsdb/downsample/aggregate.h"

namespace zw::tsdb {

// Which aggregate a selection with these hints reads (per series: kCounter falls back to
// the average when the series has no counter aggregate). avg is not stored: it is reported
// as kSum here and computed as sum / count by the querier. `*is_avg` tells which.
Aggr AggrForHints(const storage::SelectHints* hints, bool* is_avg);

// True for the functions whose input is a counter: rate, increase, irate, resets, delta, idelta.
bool IsRateLike(std::string_view func);

// Whether a Select with these hints may read data of `resolution_ms` instead of raw data:
//  - never without hints, for plain selectors (range 0) and for functions the aggregates
//    cannot answer (count_over_time, quantile/stddev/stdvar/last/mad_over_time, changes, ...);
//  - min/max/sum/avg/present_over_time: step >= resolution and range >= resolution;
//  - rate-like (IsRateLike): step >= resolution and range >= 2 * resolution.
// A resolution of 0 (raw) always fits.
bool ResolutionFits(const storage::SelectHints* hints, int64_t resolution_ms);

// A Querier over a downsampled block (resolution > 0) that looks like raw data: the series
// carry no __zw_aggr__ label and each Select reads the aggregate its hints ask for
// (AggrForHints). Select materialises the selected points of the chosen aggregates; a
// downsampled block is 60x (5 m) to 720x (1 h) smaller than raw data, but a selection over a
// long range of many series costs memory accordingly.
//
// User matchers on __zw_aggr__ are matched against the empty value (the label does not exist
// for the caller): __zw_aggr__="" or !="x" are no-ops, __zw_aggr__="sum" selects nothing.
// LabelNames and LabelValues never show it.
//
// The block is kept alive by the querier. Used by one thread at a time.
std::unique_ptr<storage::Querier> NewDownsampledQuerier(std::shared_ptr<Block> block, int64_t mint,
                                                        int64_t maxt);

}  // namespace zw::tsdb
