// Tests of the fast layer (autograd/fast/): each piece agrees with the reference it
// stands in for, in value and in gradient. The reference is the plain definition (a loop
// over the formula, the sum of products), or the same computation with the fast piece
// switched off: the tape keeping every gradient (no buffer lent), the LSTM's masked
// schedule (no packing, no kept transposes). docs/engine.md, "Reference and fast path".
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <xsimd/xsimd.hpp>
#include <xtensor/xmath.hpp>

#include "autograd/autograd.hpp"
#include "autograd/fast/backward.hpp"
#include "autograd/fast/gemm.hpp"
#include "autograd/fast/block_gemm.hpp"
#include "helpers.hpp"
#include "nn/lstm.hpp"

namespace {

using A = tg::Array<double>;
using Td = tg::Tensor<double>;

double max_abs_diff(const A& a, const A& b) {
  REQUIRE(tg::shapes_equal(a.shape(), b.shape()));
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a.data()[i] - b.data()[i]));
  return m;
}

// The leaves' gradients of sum(f(leaves) ⊙ R), on a tape that keeps gradients or lends them.
std::vector<A> leaf_grads(const std::function<Td(const std::vector<Td>&)>& f, const std::vector<A>& values,
                          bool retain) {
  std::vector<Td> leaves;
  for (const A& v : values) leaves.emplace_back(v, true);
  tg::Tape<double> tape;
  tape.retain_grads = retain;
  const Td y = f(leaves);
  const Td r(tg::test::random_array(tg::Shape(y.shape().begin(), y.shape().end()), 77));
  tape.backward(tg::sum(tg::mul(y, r)));
  std::vector<A> grads;
  for (const Td& leaf : leaves) grads.push_back(leaf.grad());
  return grads;
}

// The definition of op(a)·op(b) + β·out, as three loops.
A product_by_definition(const A& a, bool ta, const A& b, bool tb, const A& out, double beta) {
  const std::size_t m = ta ? a.shape()[1] : a.shape()[0], k = ta ? a.shape()[0] : a.shape()[1];
  const std::size_t n = tb ? b.shape()[0] : b.shape()[1];
  A r = A::from_shape({m, n});
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double s = 0;
      for (std::size_t p = 0; p < k; ++p) s += (ta ? a(p, i) : a(i, p)) * (tb ? b(j, p) : b(p, j));
      r(i, j) = s + (beta == 0 ? 0 : beta * out(i, j));
    }
  return r;
}


struct GemmCase {
  std::size_t m, k, n;
  bool ta, tb;
};

// fast::gemm on random operands of case c, onto β, against the definition in double.
template <class T>
void check_gemm_case(const GemmCase& c, T beta, std::uint64_t& seed, double tolerance) {
  CAPTURE(c.m);
  CAPTURE(c.k);
  CAPTURE(c.n);
  CAPTURE(c.ta);
  CAPTURE(c.tb);
  CAPTURE(beta);
  const tg::Array<T> a = tg::test::random_array<T>(c.ta ? tg::Shape{c.k, c.m} : tg::Shape{c.m, c.k}, seed++);
  const tg::Array<T> b = tg::test::random_array<T>(c.tb ? tg::Shape{c.n, c.k} : tg::Shape{c.k, c.n}, seed++);
  const tg::Array<T> before = tg::test::random_array<T>({c.m, c.n}, seed++);
  tg::Array<T> out = before;
  if (beta == T(0)) out.fill(std::numeric_limits<T>::quiet_NaN());  // β = 0 overwrites: nothing of out may show
  tg::fast::gemm(a, c.ta, b, c.tb, out, beta);
  const A expected = product_by_definition(xt::cast<double>(a), c.ta, xt::cast<double>(b), c.tb,
                                           xt::cast<double>(before), double(beta));
  CHECK(max_abs_diff(xt::cast<double>(out), expected) <= tolerance);
  if (c.ta || (beta != T(0) && beta != T(1))) return;
  // b as panels (Note [Weight panels]): the definition again, and where fast::gemm took the
  // block kernel (not the dot products), its sums on b as a matrix, bit for bit.
  tg::Array<T> from_panels = before;
  if (beta == T(0)) from_panels.fill(std::numeric_limits<T>::quiet_NaN());
  tg::fast::gemm(a.data(), c.k, tg::fast::to_panels(b.data(), b.shape()[1], c.tb, c.k, c.n), from_panels.data(), c.m,
                 beta);
  CHECK(max_abs_diff(xt::cast<double>(from_panels), expected) <= tolerance);
  if (!(c.m == 1 && c.tb) && c.n != 1) CHECK(from_panels == out);
}

}  // namespace

TEST_CASE("fast::each: f at every element, written over a temporary's buffer, x broadcast as NumPy") {
  const A g = tg::test::random_array({3, 4}, 1), x = tg::test::random_array({3, 4}, 2);
  const A row = tg::test::random_array({4}, 3);
  const auto times = [](double u, double v) { return u * v; };
  CHECK(tg::fast::each(g, x, times) == A(g * x));
  CHECK(tg::fast::each(g, row, times) == A(g * row));
  CHECK(tg::fast::each(g, [](double u) { return -u; }) == A(-g));
  A temp = g;
  const double* buffer = temp.data();
  const A in_place = tg::fast::each(std::move(temp), x, times);
  CHECK(in_place == A(g * x));
  CHECK(in_place.data() == buffer);  // the temporary's own buffer
  A temp_row = g;
  CHECK(tg::fast::each(std::move(temp_row), row, times) == A(g * row));  // broadcast: a new array
}

// fast::take_grad lends grad's buffer and fast::each writes over it; fast::gradient_buffer
// and fast::gradient_target add into an input's gradient in place. With the tape keeping
// every gradient none of that happens, so the gradients must be the same, bit for bit.
TEST_CASE("fast backward helpers: every op gives the same gradients whether the tape keeps or lends buffers") {
  using F = std::function<Td(const std::vector<Td>&)>;
  const A a = tg::test::random_array({2, 3}, 4, 0.5, 1.5), b = tg::test::random_array({3}, 5, 0.5, 1.5),
          m = tg::test::random_array({3, 8}, 6), bias = tg::test::random_array({8}, 7);
  const std::vector<std::pair<std::string, F>> cases = {
      {"add", [](auto& t) { return tg::add(t[0], t[1]) * t[0]; }},
      {"sub", [](auto& t) { return tg::sub(t[0], t[1]) * t[0]; }},
      {"mul", [](auto& t) { return tg::mul(t[0], t[1]) + tg::mul(t[0], t[0]); }},
      {"div", [](auto& t) { return tg::div(t[0], t[1]) * t[0]; }},
      {"neg and scalars", [](auto& t) { return -(t[0] + 1.0) * 2.0 + (1.0 - t[0]) + 2.0 / t[0] + t[1]; }},
      {"exp log tanh sigmoid relu", [](auto& t) {
         return tg::exp(t[0]) + tg::log(t[0]) * t[0] + tg::tanh(t[0] * t[1]) + tg::sigmoid(t[0]) * t[0] +
                tg::relu(t[0] - 1.0);
       }},
      {"slice select gather", [](auto& t) {
         const Td s = tg::slice(t[0], 1, 1, 3);
         return tg::stack<double>({tg::sum(s * s), tg::sum(tg::select(t[0], 0, 1) * t[1]),
                                   tg::sum(tg::gather(t[0], tg::Ids{1, 1, 0}) * tg::gather(t[0], tg::Ids{0, 1, 1}))},
                                  0);
       }},
  };
  for (const auto& [name, f] : cases) {
    CAPTURE(name);
    const auto kept = leaf_grads(f, {a, b}, true), lent = leaf_grads(f, {a, b}, false);
    for (std::size_t i = 0; i < kept.size(); ++i) CHECK(kept[i] == lent[i]);
  }
  const F products = [](auto& t) {  // t[0] reaches three products and an elementwise op
    const Td h = tg::matmul(t[0], t[2]) + tg::linear(t[0], tg::transpose(t[2]), t[3]) +
                 tg::addmm(t[3], t[0], t[2]) + tg::matmul_transposed(t[0], tg::transpose(t[2]));
    return tg::tanh(h) + tg::sum(t[0] * t[0]);
  };
  const auto kept = leaf_grads(products, {a, b, m, bias}, true), lent = leaf_grads(products, {a, b, m, bias}, false);
  for (std::size_t i = 0; i < kept.size(); ++i) CHECK(kept[i] == lent[i]);
  std::vector<Td> leaves{Td(a, true), Td(b, true), Td(m, true), Td(bias, true)};
  const auto report = tg::gradcheck([&] { return products(leaves); }, {leaves[0], leaves[2], leaves[3]});
  CHECK_MESSAGE(report.ok, report.str());
}

// fast::gemm picks dot products for one row times a transposed b and for one column, BLAS
// for β other than 0 or 1, and the block kernel (fast/block_gemm.hpp) for the rest: b read
// in place or copied a column block at a time (transposed, the last block partial, or a
// transposed), the last rows as one smaller block, fewer rows than a block in few-row
// blocks, a long sum in passes. Each must be the definition, onto β = 0, 1 and ½; so must
// the block kernel on b stored as panels (check_gemm_case).
TEST_CASE("fast::gemm: every path (dot products, block kernel, BLAS, empty sum) matches the definition") {
  using Block = tg::fast::GemmBlock<double>;
  const std::size_t wide = 2 * Block::kWidth, rows = Block::kRows;
  const std::size_t few = tg::fast::FewRowsBlock<double>::kWidth, few_rows = tg::fast::FewRowsBlock<double>::kRows;
  const std::size_t long_sum = Block::kTerms + 7;
  const std::vector<GemmCase> cases = {
      {1, 5, 7, false, true},   {1, 5, 7, true, true},                          // dot products: a row times bᵀ
      {6, 5, 1, false, false},  {6, 5, 1, true, false}, {6, 5, 1, false, true},  // … one column
      {1, 37, 9, false, true},  {9, 37, 1, false, false}, {9, 37, 1, true, true},  // … longer than a SIMD batch
      {1, 9, few, false, false}, {few_rows, 9, few + 2, false, false}, {2, 9, few, false, true},  // few rows
      {few_rows - 1, tg::fast::FewRowsBlock<double>::kTerms + 1, few, true, false},  // … a sum in two passes
      {few_rows + 1, 9, wide, false, false}, {rows - 1, 9, wide, false, false},  // the usual blocks, tails only
      {rows, 9, wide, false, false}, {2 * rows + 3, 9, wide, false, false},
      {130, 9, wide, false, false},  // block kernel, b in place
      {rows + 1, 9, wide + 5, false, false}, {3, 9, 5, false, false},       // … a partial block
      {rows + 2, 9, wide, true, false},  {rows + 2, 9, wide + 3, false, true},
      {rows + 2, 9, wide - 1, true, true},  // … a transposed, b transposed, both
      {rows + 5, long_sum, wide, false, false}, {rows + 5, long_sum, 7, true, true},  // … a sum in two passes
      {300, 200, wide + 1, true, false},  // … a transposed: shorter passes
      {4, 0, 6, false, false},  // an empty sum
      {rows + 3, 9, 2 * few + 5, false, true},  // several panels, the last partial (Note [Weight panels])
  };
  std::uint64_t seed = 10;
  for (const GemmCase& c : cases)
    for (double beta : {0.0, 1.0, 0.5}) check_gemm_case(c, beta, seed, 1e-12);
}

// fast::transpose_into moves whole 16 × 16 tiles through registers (AVX-512, float) and
// the edges element by element: every element lands where the definition says, between
// buffers wider than the matrix, and nothing outside it is written.
TEST_CASE_TEMPLATE("fast::transpose_into: whole tiles and edges, between strided buffers", T, float, double) {
  const std::vector<std::array<std::size_t, 2>> shapes = {{1, 1}, {16, 16}, {17, 33}, {48, 100}, {130, 20}};
  for (const auto& [rows, cols] : shapes) {
    CAPTURE(rows);
    CAPTURE(cols);
    const std::size_t ld_src = cols + 3, ld_dst = rows + 5;
    std::vector<T> src(rows * ld_src), dst(cols * ld_dst, T(-1));
    for (std::size_t i = 0; i < src.size(); ++i) src[i] = T(i);
    tg::fast::transpose_into(src.data(), ld_src, rows, cols, dst.data(), ld_dst);
    std::size_t wrong = 0;
    for (std::size_t c = 0; c < cols; ++c)
      for (std::size_t r = 0; r < ld_dst; ++r)
        wrong += dst[c * ld_dst + r] != (r < rows ? src[r * ld_src + c] : T(-1));
    CHECK(wrong == 0);
  }
}

// The same paths in float, where the transposed copies go through the register tiles: b
// transposed, a transposed (its panels copied too), both, against the definition in double.
TEST_CASE("fast::gemm in float: the copied panels of b transposed or a transposed") {
  std::uint64_t seed = 90;
  for (const GemmCase& c : std::vector<GemmCase>{
           {20, 37, 70, false, true}, {33, 40, 50, true, false}, {9, 48, 33, true, true}, {1, 130, 512, false, true},
           {64, 300, 40, true, false}})
    for (float beta : {0.0f, 1.0f}) check_gemm_case(c, beta, seed, 1e-4);
}

// The product ops, on shapes that reach every path of fast::gemm forward and backward.
TEST_CASE("product ops: gradient matches central differences on every path of fast::gemm") {
  const std::size_t wide = 2 * tg::fast::GemmBlock<double>::kWidth;
  for (const auto& [m, k, n] : std::vector<std::array<std::size_t, 3>>{{1, 4, 3}, {5, 4, 1}, {3, 4, wide}, {7, 5, 6}}) {
    CAPTURE(m);
    CAPTURE(n);
    Td a(tg::test::random_array({m, k}, 20), true), b(tg::test::random_array({k, n}, 21), true),
        bt(tg::test::random_array({n, k}, 22), true), bias(tg::test::random_array({n}, 23), true),
        full_bias(tg::test::random_array({m, n}, 24), true);
    for (const auto& [name, f] : std::vector<std::pair<std::string, std::function<Td()>>>{
             {"matmul", [&] { return tg::matmul(a, b); }},
             {"matmul_transposed", [&] { return tg::matmul_transposed(a, bt); }},
             {"linear", [&] { return tg::linear(a, bt, bias); }},
             {"addmm", [&] { return tg::addmm(full_bias, a, b); }},
             {"bmm", [&] { return tg::bmm(tg::stack<double>({a, a * 2.0}, 0), tg::stack<double>({b, b}, 0)); }}}) {
      CAPTURE(name);
      const auto report = tg::gradcheck(f, {a, b, bt, bias, full_bias});
      CHECK_MESSAGE(report.ok, report.str());
    }
  }
}

// Note [Sink inputs]: a temporary bias lends its buffer in evaluation; the value is the
// same as with a held bias, and under a tape the gradient reaches it.
TEST_CASE("sink inputs: addmm onto a temporary bias gives the held bias's value and gradient") {
  const A bias = tg::test::random_array({3, 4}, 30), a = tg::test::random_array({3, 2}, 31),
          b = tg::test::random_array({2, 4}, 32);
  A held_value, sink_value;
  {
    tg::NoGrad<double> no_grad;
    const Td held(bias);
    held_value = tg::addmm(held, Td(a), Td(b)).value();
    sink_value = tg::addmm(Td(bias), Td(a), Td(b)).value();
  }
  CHECK(held_value == sink_value);
  CHECK(max_abs_diff(held_value, product_by_definition(a, false, b, false, bias, 1.0)) <= 1e-14);
  Td leaf(bias, true);
  const auto report = tg::gradcheck([&] { return tg::addmm(tg::mul(leaf, Td(A{2.0})), Td(a), Td(b)); }, {leaf});
  CHECK_MESSAGE(report.ok, report.str());
}

// Note [Transposed weights]: in evaluation the packed schedule multiplies by kept panels of
// W_ihᵀ and W_hhᵀ. Its values must be the reference's (the masked schedule), on the first
// forward (panels made) and the second (panels reused), both directions, in float too.
TEST_CASE("lstm kept transposes: evaluation gives the reference schedule's values, first and second time") {
  std::mt19937_64 rng(40);
  tg::LSTM<float> lstm(5, 4, rng, true);
  const tg::Tensor<float> x(tg::test::random_array<float>({3, 6, 5}, 41));
  const tg::Ids lengths = {6, 2, 4};
  tg::NoGrad<float> no_grad;
  lstm.packed = false;
  const auto reference = lstm.forward(x, lengths);
  lstm.packed = true;
  for (int pass = 0; pass < 2; ++pass) {
    CAPTURE(pass);
    const auto fast = lstm.forward(x, lengths);
    CHECK(xt::amax(xt::abs(fast.states.value() - reference.states.value()))() <= 1e-6f);
    CHECK(xt::amax(xt::abs(fast.h_n.value() - reference.h_n.value()))() <= 1e-6f);
    CHECK(xt::amax(xt::abs(fast.c_n.value() - reference.c_n.value()))() <= 1e-6f);
  }
}
