// The op table: one row per case of every op in autograd/ops.hpp, swept by a value
// test (against numbers worked out by hand) and a gradient test (tg::gradcheck, double,
// every element). Adding an op adds a row here. Checks that need more than one value
// and one gradient (gather's accumulation, masking, dropout, float32) follow the table.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <xsimd/xsimd.hpp>
#include <xtensor/xio.hpp>
#include <xtensor/xmath.hpp>

#include "autograd/autograd.hpp"
#include "autograd/fast/block_gemm.hpp"
#include "helpers.hpp"

namespace {

using A = tg::Array<double>;
using Td = tg::Tensor<double>;
using Ts = std::vector<Td>;
using Build = std::function<Td(const Ts&)>;

struct OpCase {
  std::string name;
  Build build;            // the op's output from the row's inputs
  std::vector<A> inputs;
  A expected;             // worked out by hand; the comment above a row says how
  bool check_grad = true;
};

// A (n,1) column: A{{2}, {-3}} is ambiguous to xtensor's initializer-list constructors.
A col(std::initializer_list<double> values) {
  A c = A(values);
  c.reshape(tg::Shape{values.size(), 1});
  return c;
}

Build unary(Td (*op)(const Td&)) { return [op](const Ts& x) { return op(x[0]); }; }
Build binary(Td (*op)(const Td&, const Td&)) { return [op](const Ts& x) { return op(x[0], x[1]); }; }

const double ln2 = std::log(2.0), ln3 = std::log(3.0), ln4 = std::log(4.0), ln5 = std::log(5.0);
const double inf = std::numeric_limits<double>::infinity();

// The running examples: a (2,3); b (2,3) with no zeros, for division; s3 (2,2,3) holds
// s3[i][j][k] = 6i + 3j + k, so every element says where it sits.
const A a{{1, 2, 3}, {4, 5, 6}};
const A b{{2, 4, -1.5}, {8, 0.5, -3}};
const A s3{{{0, 1, 2}, {3, 4, 5}}, {{6, 7, 8}, {9, 10, 11}}};
// Logs of small integers: softmax of row log(p) is p / Σp, so its value is a fraction.
const A logs23{{0, ln2, ln3}, {ln4, 0, ln5}};  // softmax rows: (1,2,3)/6 and (4,1,5)/10
const A logs223{{{0, ln2, ln3}, {ln3, ln2, 0}}, {{ln4, 0, ln2}, {0, ln4, ln3}}};

std::vector<OpCase> elementwise_cases() {
  return {
      // a + b, a − b, a ⊙ b, a / b element by element.
      {"add: (2,3) + (2,3) via operator+", binary(tg::operator+), {a, b}, A{{3, 6, 1.5}, {12, 5.5, 3}}},
      {"add: (2,3) + (3) broadcasts over rows", binary(tg::add), {a, A{10, 20, 30}}, A{{11, 22, 33}, {14, 25, 36}}},
      {"add: (2,3) + () broadcasts a 0-d tensor", binary(tg::add), {a, A(0.5)}, a + 0.5},
      {"sub: (2,3) - (2,3) via operator-", binary(tg::operator-), {a, b}, A{{-1, -2, 4.5}, {-4, 4.5, 9}}},
      {"sub: (3) - (2,3) broadcasts the left side", binary(tg::sub), {A{10, 20, 30}, a}, A{{9, 18, 27}, {6, 15, 24}}},
      {"mul: (2,3) * (2,3) via operator*", binary(tg::operator*), {a, b}, A{{2, 8, -4.5}, {32, 2.5, -18}}},
      {"mul: (2,1) * (1,3) gives an outer product", binary(tg::mul), {col({2, -3}), A{{1, 0.5, 4}}},
       A{{2, 1, 8}, {-3, -1.5, -12}}},
      {"div: (2,3) / (2,3) via operator/", binary(tg::operator/), {a, b}, A{{0.5, 0.5, -2}, {0.5, 10, -2}}},
      {"div: (2,3) / (2,1) divides each row", binary(tg::div), {a, col({2, -4})},
       A{{0.5, 1, 1.5}, {-1, -1.25, -1.5}}},
      {"neg: -x", unary(tg::operator-), {a}, A{{-1, -2, -3}, {-4, -5, -6}}},
      {"add_scalar: x + 2", [](const Ts& x) { return x[0] + 2; }, {a}, A{{3, 4, 5}, {6, 7, 8}}},
      {"add_scalar: 2 + x", [](const Ts& x) { return 2 + x[0]; }, {a}, A{{3, 4, 5}, {6, 7, 8}}},
      {"add_scalar: x - 2", [](const Ts& x) { return x[0] - 2; }, {a}, A{{-1, 0, 1}, {2, 3, 4}}},
      {"rsub_scalar: 2 - x", [](const Ts& x) { return 2 - x[0]; }, {a}, A{{1, 0, -1}, {-2, -3, -4}}},
      {"mul_scalar: x * 3", [](const Ts& x) { return x[0] * 3; }, {a}, A{{3, 6, 9}, {12, 15, 18}}},
      {"mul_scalar: 3 * x", [](const Ts& x) { return 3 * x[0]; }, {a}, A{{3, 6, 9}, {12, 15, 18}}},
      {"mul_scalar: x / 4", [](const Ts& x) { return x[0] / 4; }, {a}, A{{0.25, 0.5, 0.75}, {1, 1.25, 1.5}}},
      {"rdiv_scalar: 1 / x", [](const Ts& x) { return 1 / x[0]; }, {A{{1, 2, 4}, {-0.5, 5, 8}}},
       A{{1, 0.5, 0.25}, {-2, 0.2, 0.125}}},
      // exp, tanh and sigmoid values from Python's math module (repr, 17 digits).
      {"exp", unary(tg::exp), {A{{0, 1, -1}, {0.5, 2, -2}}},
       A{{1, 2.718281828459045, 0.36787944117144233}, {1.6487212707001282, 7.38905609893065, 0.1353352832366127}}},
      // ln 1 = 0, ln e = 1, ln ½ = −ln 2, ln ¼ = −2 ln 2.
      {"log: positive inputs", unary(tg::log), {A{{1, std::exp(1.0), 0.5}, {2, 10, 0.25}}},
       A{{0, 1, -0.6931471805599453}, {0.6931471805599453, 2.302585092994046, -1.3862943611198906}}},
      {"tanh", unary(tg::tanh), {A{{0, 0.5, -1}, {2, -0.25, 1.5}}},
       A{{0, 0.46211715726000974, -0.7615941559557649}, {0.9640275800758169, -0.24491866240370913, 0.9051482536448664}}},
      // σ(0) = ½ and σ(±ln 3) = 1/(1 + 1/3) = ¾, 1/(1 + 3) = ¼.
      {"sigmoid", unary(tg::sigmoid), {A{{0, ln3, -ln3}, {1, -2, 4}}},
       A{{0.5, 0.75, 0.25}, {0.7310585786300049, 0.11920292202211755, 0.9820137900379085}}},
      {"relu: inputs away from the kink at 0", unary(tg::relu), {A{{-1.5, 0.5, 2}, {-0.25, 3, -2}}},
       A{{0, 0.5, 2}, {0, 3, 0}}},
  };
}

std::vector<OpCase> linalg_cases() {
  // Rows of a times columns of m: (1·1 + 2·0 + 3·0.5, 1·(−1) + 2·2 + 3·1) = (2.5, 6), and (7, 12).
  const A m{{1, -1}, {0, 2}, {0.5, 1}};
  return {
      {"matmul: (2,3) · (3,2)", binary(tg::matmul), {a, m}, A{{2.5, 6}, {7, 12}}},
      // One row or one column goes through the dot products: each is a row or column above.
      {"matmul: (1,3) · (3,2), one row", binary(tg::matmul), {A{{4, 5, 6}}, m}, A{{7, 12}}},
      {"matmul: (2,3) · (3,1), one column", binary(tg::matmul), {a, col({1, 0, 0.5})}, col({2.5, 7})},
      {"matmul_transposed: (1,3) · (2,3)ᵀ, one row", binary(tg::matmul_transposed),
       {A{{4, 5, 6}}, A{{1, 0, 0.5}, {-1, 2, 1}}}, A{{7, 12}}},
      {"matmul_transposed: (2,3) · (1,3)ᵀ, one column", binary(tg::matmul_transposed), {a, A{{1, 0, 0.5}}},
       col({2.5, 7})},
      {"matmul_transposed: (2,3) · (2,3)ᵀ is the matmul above", binary(tg::matmul_transposed),
       {a, A{{1, 0, 0.5}, {-1, 2, 1}}}, A{{2.5, 6}, {7, 12}}},
      {"linear: the matmul above plus a bias row", [](const Ts& x) { return tg::linear(x[0], x[1], x[2]); },
       {a, A{{1, 0, 0.5}, {-1, 2, 1}}, A{10, 20}}, A{{12.5, 26}, {17, 32}}},
      {"linear: the matmul above plus a full bias", [](const Ts& x) { return tg::linear(x[0], x[1], x[2]); },
       {a, A{{1, 0, 0.5}, {-1, 2, 1}}, A{{1, 2}, {3, 4}}}, A{{3.5, 8}, {10, 16}}},
      {"addmm: a bias row plus the matmul above", [](const Ts& x) { return tg::addmm(x[0], x[1], x[2]); },
       {A{10, 20}, a, m}, A{{12.5, 26}, {17, 32}}},
      {"addmm: a full bias plus the matmul above", [](const Ts& x) { return tg::addmm(x[0], x[1], x[2]); },
       {A{{1, 2}, {3, 4}}, a, m}, A{{3.5, 8}, {10, 16}}},
      {"addmm: one row", [](const Ts& x) { return tg::addmm(x[0], x[1], x[2]); }, {A{1, 1}, A{{4, 5, 6}}, m},
       A{{8, 13}}},
      // Batch 0 is the matmul above; batch 1: (1,0,−1)·cols = (−4,−4), (2,1,0)·cols = (5,8).
      {"bmm: (2,2,3) · (2,3,2)", binary(tg::bmm),
       {A{{{1, 2, 3}, {4, 5, 6}}, {{1, 0, -1}, {2, 1, 0}}}, A{{{1, -1}, {0, 2}, {0.5, 1}}, {{1, 2}, {3, 4}, {5, 6}}}},
       A{{{2.5, 6}, {7, 12}}, {{-4, -4}, {5, 8}}}},
      {"transpose: 2-d", [](const Ts& x) { return tg::transpose(x[0]); }, {a}, A{{1, 4}, {2, 5}, {3, 6}}},
      // result[k][i][j] = s3[i][j][k] = 6i + 3j + k.
      {"transpose: 3-d permutation (2,0,1)", [](const Ts& x) { return tg::transpose(x[0], {2, 0, 1}); }, {s3},
       A{{{0, 3}, {6, 9}}, {{1, 4}, {7, 10}}, {{2, 5}, {8, 11}}}},
      {"transpose: 3-d reverses the axes by default", [](const Ts& x) { return tg::transpose(x[0]); }, {s3},
       A{{{0, 6}, {3, 9}}, {{1, 7}, {4, 10}}, {{2, 8}, {5, 11}}}},
      {"reshape: (2,3) to (3,2)", [](const Ts& x) { return tg::reshape(x[0], {3, 2}); }, {a},
       A{{1, 2}, {3, 4}, {5, 6}}},
      {"reshape: (2,2,3) to (12)", [](const Ts& x) { return tg::reshape(x[0], {12}); }, {s3},
       A{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
  };
}

// sum or mean over `axis` of x[0], as a table row's builder.
Build over_axis(Td (*op)(const Td&, std::size_t, bool), std::size_t axis, bool keepdims) {
  return [=](const Ts& x) { return op(x[0], axis, keepdims); };
}

std::vector<OpCase> reduce_cases() {
  // a's column sums are (5,7,9), its row sums (6,15), its total 21; means divide by 2, 3 and 6.
  return {
      {"sum: all elements to shape ()", unary(tg::sum), {a}, A(21.0)},
      {"sum: axis 0", over_axis(tg::sum, 0, false), {a}, A{5, 7, 9}},
      {"sum: axis 0 keepdims", over_axis(tg::sum, 0, true), {a}, A{{5, 7, 9}}},
      {"sum: axis 1", over_axis(tg::sum, 1, false), {a}, A{6, 15}},
      {"sum: axis 1 keepdims", over_axis(tg::sum, 1, true), {a}, col({6, 15})},
      {"sum: axis 1 of (2,2,3)", over_axis(tg::sum, 1, false), {s3}, A{{3, 5, 7}, {15, 17, 19}}},
      {"mean: all elements", unary(tg::mean), {a}, A(3.5)},
      {"mean: axis 0", over_axis(tg::mean, 0, false), {a}, A{2.5, 3.5, 4.5}},
      {"mean: axis 0 keepdims", over_axis(tg::mean, 0, true), {a}, A{{2.5, 3.5, 4.5}}},
      {"mean: axis 1", over_axis(tg::mean, 1, false), {a}, A{2, 5}},
      {"mean: axis 1 keepdims", over_axis(tg::mean, 1, true), {a}, col({2, 5})},
  };
}

Build along(Td (*op)(const Td&, std::size_t), std::size_t axis) {
  return [=](const Ts& x) { return op(x[0], axis); };
}

std::vector<OpCase> softmax_cases() {
  // Softmax of log(p) along an axis is p / Σp (see logs23, logs223); log-softmax is its log.
  const A rows{{1. / 6, 2. / 6, 3. / 6}, {0.4, 0.1, 0.5}};
  const A pairs{{{0.25, 0.5, 0.75}, {0.75, 0.5, 0.25}}, {{0.8, 0.2, 0.4}, {0.2, 0.8, 0.6}}};     // axis 1
  const A triples{{{1. / 6, 2. / 6, 3. / 6}, {3. / 6, 2. / 6, 1. / 6}}, {{4. / 7, 1. / 7, 2. / 7}, {1. / 8, 4. / 8, 3. / 8}}};
  const A cols = xt::transpose(logs23);
  return {
      {"softmax: axis 1", along(tg::softmax, 1), {logs23}, rows},
      {"softmax: axis 0", along(tg::softmax, 0), {cols}, A(xt::transpose(rows))},
      {"softmax: (2,2,3) axis 1", along(tg::softmax, 1), {logs223}, pairs},
      {"softmax: (2,2,3) axis 2", along(tg::softmax, 2), {logs223}, triples},
      // Without the max subtraction e^1000 would overflow to ∞ and the row to NaN.
      {"softmax: a row shifted by +1000 does not overflow", along(tg::softmax, 1), {logs23 + 1000.0}, rows},
      {"log_softmax: axis 1", along(tg::log_softmax, 1), {logs23}, A(xt::log(rows))},
      {"log_softmax: axis 0", along(tg::log_softmax, 0), {cols}, A(xt::log(xt::transpose(rows)))},
      {"log_softmax: (2,2,3) axis 1", along(tg::log_softmax, 1), {logs223}, A(xt::log(pairs))},
      {"log_softmax: (2,2,3) axis 2", along(tg::log_softmax, 2), {logs223}, A(xt::log(triples))},
      // Row 0 picks p = 3/6, row 1 p = 4/10: (−ln ½ − ln ⅖) / 2 = (ln 2 + ln 2.5) / 2 = ln 5 / 2.
      {"cross_entropy: mean of −log p[label]", [](const Ts& x) { return tg::cross_entropy(x[0], tg::Ids{2, 0}); },
       {logs23}, A(ln5 / 2)},
  };
}

std::vector<OpCase> norm_cases() {
  // Each row of a is (m−1, m, m+1): mean m, biased variance 2/3, so with eps = 0 it
  // normalises to (−√1.5, 0, √1.5); then ⊙ (2, 1, −1) + (0.5, 0, 1).
  const double r = std::sqrt(1.5);
  auto norm = [](double eps) { return [eps](const Ts& x) { return tg::layer_norm(x[0], x[1], x[2], eps); }; };
  return {
      {"layer_norm: (2,3) rows, weight and bias", norm(0), {a, A{2, 1, -1}, A{0.5, 0, 1}},
       A{{-2 * r + 0.5, 0, -r + 1}, {-2 * r + 0.5, 0, -r + 1}}},
      // s3's rows are (k, k+1, k+2) too; eps = 1e-5 sits inside the root, as PyTorch's.
      {"layer_norm: (2,2,3) with eps 1e-5", norm(1e-5), {s3, A{1, 1, 1}, A{0, 0, 0}},
       A(A{{{-1, 0, 1}, {-1, 0, 1}}, {{-1, 0, 1}, {-1, 0, 1}}} / std::sqrt(2.0 / 3 + 1e-5))},
  };
}

std::vector<OpCase> index_cases() {
  const A table{{0, 1}, {10, 11}, {20, 21}, {30, 31}};  // row r holds (10r, 10r + 1)
  tg::Mask rows_mask{true, false};
  rows_mask.reshape({2, 1});
  return {
      // Ids (2,2) → (2,2,2); id 1 appears twice, so its row's gradient is a sum (and see below).
      {"gather: rows of a table by ids", [](const Ts& x) { return tg::gather(x[0], tg::Ids{{3, 1}, {1, 0}}); },
       {table}, A{{{30, 31}, {10, 11}}, {{10, 11}, {0, 1}}}},
      // Bags (2,3) of ids, 0 left out: the mean of rows 3 and 1 (twice), row 2 alone, no row.
      {"gather_mean: the mean of each bag's rows, padding left out",
       [](const Ts& x) { return tg::gather_mean(x[0], tg::Ids{{{3, 1, 1}, {0, 2, 0}}, {{0, 0, 0}, {1, 3, 0}}}, 0); },
       {table}, A{{{50.0 / 3, 53.0 / 3}, {20, 21}}, {{0, 0}, {20, 21}}}},
      {"concat: axis 0", [](const Ts& x) { return tg::concat(x, 0); }, {a, A{{7, 8, 9}}},
       A{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}},
      {"concat: axis 1, three inputs", [](const Ts& x) { return tg::concat(x, 1); }, {a, col({-1, -2}), b},
       A{{1, 2, 3, -1, 2, 4, -1.5}, {4, 5, 6, -2, 8, 0.5, -3}}},
      {"stack: axis 0", [](const Ts& x) { return tg::stack(x, 0); }, {a, b}, A{{{1, 2, 3}, {4, 5, 6}}, {{2, 4, -1.5}, {8, 0.5, -3}}}},
      {"stack: axis 1", [](const Ts& x) { return tg::stack(x, 1); }, {a, b}, A{{{1, 2, 3}, {2, 4, -1.5}}, {{4, 5, 6}, {8, 0.5, -3}}}},
      {"stack: axis 2 (last)", [](const Ts& x) { return tg::stack(x, 2); }, {a, b},
       A{{{1, 2}, {2, 4}, {3, -1.5}}, {{4, 8}, {5, 0.5}, {6, -3}}}},
      {"slice: axis 0 [1:2]", [](const Ts& x) { return tg::slice(x[0], 0, 1, 2); }, {a}, A{{4, 5, 6}}},
      {"slice: axis 1 [1:3]", [](const Ts& x) { return tg::slice(x[0], 1, 1, 3); }, {a}, A{{2, 3}, {5, 6}}},
      {"slice: axis 2 [0:2] of (2,2,3)", [](const Ts& x) { return tg::slice(x[0], 2, 0, 2); }, {s3},
       A{{{0, 1}, {3, 4}}, {{6, 7}, {9, 10}}}},
      // s3[i][j][k] = 6i + 3j + k with one index fixed.
      {"select: axis 0 index 1", [](const Ts& x) { return tg::select(x[0], 0, 1); }, {s3}, A{{6, 7, 8}, {9, 10, 11}}},
      {"select: axis 1 index 0", [](const Ts& x) { return tg::select(x[0], 1, 0); }, {s3}, A{{0, 1, 2}, {6, 7, 8}}},
      {"select: axis 2 index 2", [](const Ts& x) { return tg::select(x[0], 2, 2); }, {s3}, A{{2, 5}, {8, 11}}},
      {"where: a (3) mask picks columns", [](const Ts& x) { return tg::where(tg::Mask{true, false, true}, x[0], x[1]); },
       {a, b}, A{{1, 4, 3}, {4, 0.5, 6}}},
      // Mask (2,1), a (2,3), b (3): row 0 from a, row 1 is b broadcast.
      {"where: (2,1) mask with a (3) operand", [=](const Ts& x) { return tg::where(rows_mask, x[0], x[1]); },
       {a, A{-1, -2, -3}}, A{{1, 2, 3}, {-1, -2, -3}}},
      {"masked_fill: a (3) mask fills a column", [](const Ts& x) { return tg::masked_fill(x[0], tg::Mask{false, true, false}, -5.0); },
       {a}, A{{1, -5, 3}, {4, -5, 6}}},
      // A row sum of −∞ ⊙ R is NaN, so −∞ fills get their gradient check through the softmax row below.
      {"masked_fill: -inf", [](const Ts& x) { return tg::masked_fill(x[0], tg::Mask{true, false, false}, -inf); },
       {a}, A{{-inf, 2, 3}, {-inf, 5, 6}}, false},
      // −∞ then softmax: row 0 keeps (1,2) → (⅓,⅔); row 1 keeps (3,·,1) → (¾,0,¼).
      {"masked_fill: -inf then softmax gives masked positions 0",
       [](const Ts& x) { return tg::softmax(tg::masked_fill(x[0], tg::Mask{{false, false, true}, {false, true, false}}, -inf), 1); },
       {A{{0, ln2, 7}, {ln3, 9, 0}}}, A{{1. / 3, 2. / 3, 0}, {0.75, 0, 0.25}}},
      // A key-padding mask (2,1,1,4) over scores (2,2,2,4): each batch row's mask repeats over
      // the middle axes. (xtensor's broadcasting where got this case wrong.)
      {"masked_fill: a (2,1,1,4) mask over (2,2,2,4)",
       [](const Ts& x) {
         tg::Mask keys{true, false, true, true, false, true, false, false};
         keys.reshape(tg::Shape{2, 1, 1, 4});
         return tg::masked_fill(x[0], keys, -5.0);
       },
       {A(xt::zeros<double>({2, 2, 2, 4}))},
       A{{{{-5, 0, -5, -5}, {-5, 0, -5, -5}}, {{-5, 0, -5, -5}, {-5, 0, -5, -5}}},
         {{{0, -5, 0, 0}, {0, -5, 0, 0}}, {{0, -5, 0, 0}, {0, -5, 0, 0}}}}},
      {"dropout: identity when not training", [](const Ts& x) {
         std::mt19937_64 rng(1);
         return tg::dropout(x[0], 0.5, false, rng);
       },
       {a}, a},
  };
}

std::vector<OpCase> op_table() {
  std::vector<OpCase> table;
  for (auto part : {elementwise_cases, linalg_cases, reduce_cases, softmax_cases, norm_cases, index_cases})
    for (auto& row : part()) table.push_back(std::move(row));
  return table;
}

// |got − expected| ≤ tol·(1 + |expected|) elementwise, infinities exactly. Not xt::allclose:
// its tolerance scales with max(|got|, |expected|), so it calls ∞ close to any number.
template <class T>
bool matches(const tg::Array<T>& got, const tg::Array<T>& expected, T tol) {
  if (!tg::shapes_equal(got.shape(), expected.shape())) return false;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const T g = got.data()[i], e = expected.data()[i];
    if (std::isfinite(e) ? !(std::abs(g - e) <= tol * (1 + std::abs(e))) : g != e) return false;
  }
  return true;
}

std::string str(const A& x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

}  // namespace

TEST_CASE("ops: every op's value matches the hand-computed numbers") {
  for (const auto& row : op_table()) {
    Ts inputs(row.inputs.begin(), row.inputs.end());
    const A got = row.build(inputs).value();
    CHECK_MESSAGE(matches(got, row.expected, 1e-12), row.name, ": got ", str(got), " expected ", str(row.expected));
  }
}

TEST_CASE("ops: every op's gradient matches central differences") {
  for (const auto& row : op_table()) {
    if (!row.check_grad) continue;
    Ts inputs;
    for (const A& x : row.inputs) inputs.emplace_back(x, true);
    const tg::GradcheckReport report = tg::gradcheck([&] { return row.build(inputs); }, inputs);
    CHECK_MESSAGE(report.ok, row.name, ": ", report.str());
  }
}

namespace {
bool all_finite(const A& x) { return xt::all(xt::isfinite(x)); }
}  // namespace

TEST_CASE("gather: a repeated id accumulates its gradients into one table row") {
  Td table(A{{1, 2}, {3, 4}, {5, 6}}, true);
  const A upstream{{1, 10}, {100, 1000}, {-1, -2}};  // dL/d(gathered row i)
  tg::Tape<double> tape;
  tape.backward(tg::sum(tg::gather(table, tg::Ids{2, 0, 2}) * Td(upstream)));
  // Id 2 sits at positions 0 and 2: (1,10) + (−1,−2) = (0,8); id 0 at position 1; id 1 nowhere.
  const A expected{{100, 1000}, {0, 0}, {0, 8}};
  CHECK_MESSAGE(table.grad() == expected, "got ", str(table.grad()));
}

TEST_CASE("masked_fill -inf then softmax: masked positions get exactly 0 and exactly zero gradient") {
  Td x(A{{0.5, -1, 2, 0.25}, {1, 3, -2, 0}}, true);
  const tg::Mask mask{{false, true, false, true}, {true, true, true, true}};  // row 1 is fully masked
  tg::Tape<double> tape;
  Td p = tg::softmax(tg::masked_fill(x, mask, -inf), 1);
  tape.backward(tg::sum(p * Td(A{{1, 2, 3, 4}, {5, 6, 7, 8}})));
  REQUIRE(all_finite(p.value()));
  REQUIRE(all_finite(x.grad()));
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 4; ++j) {
      CAPTURE(i);
      CAPTURE(j);
      if (mask(i, j)) {
        CHECK(p.value()(i, j) == 0.0);
        CHECK(x.grad()(i, j) == 0.0);
      } else {
        CHECK(p.value()(i, j) > 0.0);
        CHECK(x.grad()(i, j) != 0.0);
      }
    }
  // The kept row-0 entries are softmax(0.5, 2) = (1, e^1.5) / (1 + e^1.5).
  CHECK(p.value()(0, 0) + p.value()(0, 2) == doctest::Approx(1.0));
  CHECK(p.value()(0, 0) == doctest::Approx(1 / (1 + std::exp(1.5))));
}

TEST_CASE("dropout: about p of the elements are zeroed, survivors scaled by 1/(1-p), gradient uses the same mask") {
  const double p = 0.25;
  Td x(A(xt::ones<double>({100, 100})), true);
  A upstream = xt::linspace<double>(-1, 1, 10000);
  upstream.reshape({100, 100});
  std::mt19937_64 rng(42);
  tg::Tape<double> tape;
  Td y = tg::dropout(x, p, true, rng);
  tape.backward(tg::sum(y * Td(upstream)));
  std::size_t zeros = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double v = y.value().data()[i], g = x.grad().data()[i];
    if (v == 0.0) ++zeros;
    else CHECK(v == 1 / (1 - p));
    // x is all ones, so y is the mask times 1/(1−p): dx = upstream ⊙ y exactly.
    CHECK(g == upstream.data()[i] * v);
  }
  // 10,000 draws: the zeroed fraction's standard deviation is √(p(1−p)/10⁴) ≈ 0.0043.
  CHECK(static_cast<double>(zeros) / 10000 == doctest::Approx(p).epsilon(0.08));
}

TEST_CASE("dropout: the same seed gives the same mask, another seed another") {
  const Td x(A(xt::ones<double>({20, 20})));
  auto mask_of = [&](std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    return A(tg::dropout(x, 0.5, true, rng).value());
  };
  CHECK(mask_of(3) == mask_of(3));
  CHECK(mask_of(3) != mask_of(4));
}

TEST_CASE("dropout: gradient matches central differences under a fixed mask, p outside 0..1 throws") {
  Td x(A{{0.5, -1, 2, 0.25}, {1, 3, -2, 1.5}}, true);
  const auto f = [&] {
    std::mt19937_64 rng(5);  // reseeded each call, so every probe sees the same mask
    return tg::dropout(x, 0.5, true, rng);
  };
  const tg::GradcheckReport report = tg::gradcheck(f, {x});
  CHECK_MESSAGE(report.ok, report.str());
  std::mt19937_64 rng(1);
  CHECK_THROWS_WITH_AS(tg::dropout(x, 1.0, true, rng), "dropout: p = 1 is not in [0,1)", tg::Error);
  CHECK_THROWS_WITH_AS(tg::dropout(x, -0.1, false, rng), "dropout: p = -0.1 is not in [0,1)", tg::Error);
}

TEST_CASE("float32: matmul, softmax and cross_entropy compute and differentiate in float") {
  using Af = tg::Array<float>;
  using Tf = tg::Tensor<float>;
  const Af logits = xt::cast<float>(logs23);
  // The same hand-worked numbers as the double rows of the table, to float precision.
  CHECK(matches(tg::matmul(Tf(Af{{1, 2, 3}, {4, 5, 6}}), Tf(Af{{1, -1}, {0, 2}, {0.5, 1}})).value(),
                Af{{2.5, 6}, {7, 12}}, 1e-6f));
  CHECK(matches(tg::softmax(Tf(logits), 1).value(), Af{{1.f / 6, 2.f / 6, 3.f / 6}, {0.4f, 0.1f, 0.5f}}, 1e-6f));
  Tf z(logits, true);
  tg::Tape<float> tape;
  Tf loss = tg::cross_entropy(z, tg::Ids{2, 0});
  CHECK(loss.item() == doctest::Approx(ln5 / 2).epsilon(1e-6));
  tape.backward(loss);
  // dz = (softmax − onehot(labels)) / B with B = 2.
  const Af dz{{1.f / 12, 2.f / 12, (3.f / 6 - 1) / 2}, {(0.4f - 1) / 2, 0.05f, 0.25f}};
  CHECK_MESSAGE(matches(z.grad(), dz, 1e-6f), "got ", z.grad());
}

namespace {
// out = a·b by the definition, in long double.
template <class T>
tg::Array<T> naive_matmul(const tg::Array<T>& a, const tg::Array<T>& b) {
  const std::size_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  tg::Array<T> out = tg::Array<T>::from_shape({m, n});
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      long double sum = 0;
      for (std::size_t l = 0; l < k; ++l) sum += (long double)a(i, l) * b(l, j);
      out(i, j) = T(sum);
    }
  return out;
}

template <class T>
void check_few_rows_products(std::size_t width, T tolerance) {
  for (std::size_t m : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 63, 64, 65}) {
    for (std::size_t k : {1, 13, 128}) {
      for (std::size_t n : {width, 4 * width, width + 3}) {
        CAPTURE(m);
        CAPTURE(k);
        CAPTURE(n);
        const tg::Array<T> a = tg::test::random_array<T>({m, k}, 7 * m + k);
        const tg::Array<T> b = tg::test::random_array<T>({k, n}, 3 * n + k);
        const tg::Array<T> bias = tg::test::random_array<T>({m, n}, 5);
        const tg::Array<T> product = naive_matmul(a, b);
        CHECK(matches(tg::matmul(tg::Tensor<T>(a), tg::Tensor<T>(b)).value(), product, tolerance));
        const tg::Array<T> with_bias = product + bias;
        CHECK(matches(tg::addmm(tg::Tensor<T>(bias), tg::Tensor<T>(a), tg::Tensor<T>(b)).value(), with_bias, tolerance));
      }
    }
  }
}
}  // namespace

// Rows times a (k, n) matrix go through the register-blocked kernel of fast/block_gemm.hpp
// (β = 0 for matmul, 1 onto addmm's bias): b read in place for whole column blocks, the
// last partial block copied. Row counts around the kernel's 4- or 8-row blocks and past 64.
TEST_CASE("matmul and addmm: rows times a wide matrix match the definition (the block kernel)") {
  check_few_rows_products<float>(tg::fast::GemmBlock<float>::kWidth, 2e-5f);
  check_few_rows_products<double>(tg::fast::GemmBlock<double>::kWidth, 1e-13);
}

TEST_CASE("addmm: gradient matches central differences on the block kernel's shapes") {
  const std::size_t n = tg::fast::GemmBlock<double>::kWidth;
  for (const tg::Shape& bias_shape : {tg::Shape{n}, tg::Shape{5, n}}) {
    Td bias(tg::test::random_array(bias_shape, 1), true), x(tg::test::random_array({5, 7}, 2), true),
        w(tg::test::random_array({7, n}, 3), true);
    const auto report = tg::gradcheck([&] { return tg::addmm(bias, x, w); }, {bias, x, w});
    CHECK_MESSAGE(report.ok, report.str());
  }
}

TEST_CASE("transpose: a matrix larger than the copy's tiles, and its gradient") {
  const A x = tg::test::random_array({37, 21}, 4);
  CHECK(tg::transpose(Td(x)).value() == A(xt::transpose(x)));
  Td leaf(x, true);
  const auto report = tg::gradcheck([&] { return tg::transpose(leaf); }, {leaf});
  CHECK_MESSAGE(report.ok, report.str());
}

// Note [Sink inputs]: a sink input's buffer is taken only from a temporary nobody else
// holds and only when no tape records; a named tensor passed as is keeps its value.
TEST_CASE("sink inputs: reshape and addmm take a temporary's buffer, never a held tensor's") {
  const A x = tg::test::random_array({4, 6}, 9);
  {
    tg::NoGrad<double> no_grad;
    Td held(x);
    A expected = x;
    expected.reshape({6, 4});
    CHECK(tg::reshape(held, {6, 4}).value() == expected);
    CHECK(held.value() == x);  // passed by copy: two handles, so copied
    const double* buffer = held.value().data();
    const Td moved = tg::reshape(std::move(held), {24});
    CHECK(moved.value().data() == buffer);  // the last handle, moved in: no copy
    Td bias(x);
    const Td sum = tg::addmm(bias, Td(A(xt::ones<double>({4, 2}))), Td(A(xt::ones<double>({2, 6}))));
    CHECK(bias.value() == x);
    CHECK(sum.value() == A(x + 2.0));
  }
  tg::Tape<double> tape;  // recording: the input stays on the tape, whole
  Td leaf(x, true);
  Td doubled = tg::mul(leaf, Td(A{2.0}));
  const Td flat = tg::reshape(std::move(doubled), {24});
  tape.backward(tg::sum(flat));
  for (const auto& node : tape.nodes())
    if (std::string(node->op) == "mul") CHECK(node->value == A(x * 2.0));
  CHECK(leaf.grad() == A(xt::ones<double>({4, 6}) * 2.0));
}

TEST_CASE("layer_norm: gradient matches central differences on uneven rows, and bad shapes throw naming them") {
  // Rows with different means and spreads, so that every term of the backward matters.
  Td x(A(tg::test::random_array({4, 5}, 21, -2, 3)), true), w(tg::test::random_array({5}, 22, 0.5, 1.5), true),
      bias(tg::test::random_array({5}, 23), true);
  const auto report = tg::gradcheck([&] { return tg::layer_norm(x, w, bias, 1e-5); }, {x, w, bias});
  CHECK_MESSAGE(report.ok, report.str());
  CHECK(tg::test::error_of([&] { tg::layer_norm(x, Td(A{1, 1}), bias, 1e-5); }) ==
        "layer_norm: x (4,5) with weight (2) and bias (5)");
  // Each normalised row has mean 0 and biased variance 1 (up to eps).
  const A y = tg::layer_norm(Td(x.value()), Td(A(xt::ones<double>({5}))), Td(A(xt::zeros<double>({5}))), 0.0).value();
  for (std::size_t i = 0; i < 4; ++i) {
    double m = 0, v = 0;
    for (std::size_t k = 0; k < 5; ++k) m += y(i, k) / 5;
    for (std::size_t k = 0; k < 5; ++k) v += (y(i, k) - m) * (y(i, k) - m) / 5;
    CHECK(std::abs(m) < 1e-14);
    CHECK(std::abs(v - 1) < 1e-14);
  }
}

TEST_CASE("gather_mean: the composition sum(gather(table, ids) ⊙ share, axis) to rounding, values and gradient") {
  // share is 1/n at a bag's n real ids and 0 at padding: what EmbeddingBag first composed.
  // The two sum a bag's rows in other orders, so they agree to rounding, not bit for bit.
  const tg::Ids ids = {{3, 1, 4, 0, 0}, {0, 0, 0, 0, 0}, {2, 2, 5, 1, 3}, {5, 0, 0, 0, 0}};
  A share = xt::zeros<double>({std::size_t{4}, std::size_t{5}, std::size_t{1}});
  for (std::size_t b = 0; b < 4; ++b) {
    double n = 0;
    for (std::size_t k = 0; k < 5; ++k) n += ids(b, k) != 0;
    for (std::size_t k = 0; k < 5; ++k) share(b, k, 0) = ids(b, k) != 0 ? 1 / n : 0;
  }
  const A values = tg::test::random_array({6, 7}, 21), upstream = tg::test::random_array({4, 7}, 22);
  Td fused_table(values, true), composed_table(values, true);
  tg::Tape<double> tape;
  const Td fused = tg::gather_mean(fused_table, ids, 0);
  const Td composed = tg::sum(tg::gather(composed_table, ids) * Td(share), 1);
  CHECK(xt::allclose(fused.value(), composed.value(), 1e-15, 1e-15));
  tape.backward(tg::sum(fused * Td(upstream)) + tg::sum(composed * Td(upstream)));
  CHECK(xt::allclose(fused_table.grad(), composed_table.grad(), 1e-15, 1e-15));
  CHECK(xt::any(xt::not_equal(fused_table.grad(), 0.0)));
  CHECK_THROWS_AS(tg::gather_mean(fused_table, tg::Ids{{1, 6}}, 0), tg::Error);
}
