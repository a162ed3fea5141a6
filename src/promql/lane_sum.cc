#include "promql/lane_sum.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define ZW_LANE_SUM_X86 1
#else
#define ZW_LANE_SUM_X86 0
#endif

namespace zw::promql {
namespace lane_sum_internal {
namespace {

void AddTail(std::span<const Point> points, size_t from, NeumaierLanes& l) {
  for (size_t i = from; i < points.size(); ++i) NeumaierAdd(points[i].v, l.sum[0], l.comp[0]);
}

}  // namespace

void AddScalar(std::span<const Point> points, NeumaierLanes& l) {
  // Named locals rather than the arrays, so that the sums stay in registers.
  double s0 = l.sum[0], s1 = l.sum[1], s2 = l.sum[2], s3 = l.sum[3];
  double c0 = l.comp[0], c1 = l.comp[1], c2 = l.comp[2], c3 = l.comp[3];
  const Point* p = points.data();
  size_t i = 0;
  for (; i + 3 < points.size(); i += 4) {
    NeumaierAdd(p[i].v, s0, c0);
    NeumaierAdd(p[i + 1].v, s1, c1);
    NeumaierAdd(p[i + 2].v, s2, c2);
    NeumaierAdd(p[i + 3].v, s3, c3);
  }
  l = {{s0, s1, s2, s3}, {c0, c1, c2, c3}};
  AddTail(points, i, l);
}

#if ZW_LANE_SUM_X86

// A vector holds the lanes in the order 0, 2, 1, 3: that is how unpacking the values out of
// two loads of two {t, v} points each leaves them.
[[gnu::target("avx2")]] void AddAvx2Impl(std::span<const Point> points, NeumaierLanes& l) {
  static_assert(sizeof(Point) == 16 && offsetof(Point, v) == 8);
  __m256d sum = _mm256_setr_pd(l.sum[0], l.sum[2], l.sum[1], l.sum[3]);
  __m256d comp = _mm256_setr_pd(l.comp[0], l.comp[2], l.comp[1], l.comp[3]);
  const __m256d sign = _mm256_set1_pd(-0.0);
  const auto* p = reinterpret_cast<const double*>(points.data());
  size_t i = 0;
  for (; i + 3 < points.size(); i += 4) {
    const __m256d a = _mm256_loadu_pd(p + 2 * i);      // t_i v_i t_i+1 v_i+1
    const __m256d b = _mm256_loadu_pd(p + 2 * i + 4);  // t_i+2 v_i+2 t_i+3 v_i+3
    const __m256d v = _mm256_unpackhi_pd(a, b);        // v_i v_i+2 v_i+1 v_i+3
    const __m256d t = _mm256_add_pd(sum, v);
    // |sum| >= |v| (false when either is NaN, as the scalar comparison).
    const __m256d sum_bigger =
        _mm256_cmp_pd(_mm256_andnot_pd(sign, sum), _mm256_andnot_pd(sign, v), _CMP_GE_OQ);
    const __m256d from_sum = _mm256_add_pd(_mm256_sub_pd(sum, t), v);
    const __m256d from_v = _mm256_add_pd(_mm256_sub_pd(v, t), sum);
    comp = _mm256_add_pd(comp, _mm256_blendv_pd(from_v, from_sum, sum_bigger));
    sum = t;
  }
  alignas(32) double s[4], c[4];
  _mm256_store_pd(s, sum);
  _mm256_store_pd(c, comp);
  l = {{s[0], s[2], s[1], s[3]}, {c[0], c[2], c[1], c[3]}};
  AddTail(points, i, l);
}

bool HaveAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}

bool AddAvx2(std::span<const Point> points, NeumaierLanes& l) {
  static const bool have = HaveAvx2();
  if (!have) return false;
  AddAvx2Impl(points, l);
  return true;
}

#else

bool AddAvx2(std::span<const Point>, NeumaierLanes&) { return false; }

#endif

}  // namespace lane_sum_internal

void AddToLanes(std::span<const Point> points, NeumaierLanes& lanes) {
  // Below two vector steps the set-up costs more than it saves.
  if (points.size() >= 8 && lane_sum_internal::AddAvx2(points, lanes)) return;
  lane_sum_internal::AddScalar(points, lanes);
}

}  // namespace zw::promql
