// Anomaly mode (Tape::check_finite, the CLI's --check-finite; issue 7): like PyTorch's
// detect_anomaly, training stops at the first op whose output (forward) or gradient
// (backward) is not finite, and the error names the op, its tape index and its input
// shapes. Engine cases here complement test_tape.cpp's; the CLI case runs the built
// `sentiment` binary with a learning rate that overflows the weights.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include <fmt/format.h>

#include "autograd/autograd.hpp"
#include "helpers.hpp"
#include "models/data/csv.hpp"
#include "models/data/synthetic_tweets.hpp"

namespace fs = std::filesystem;

namespace {

using A = tg::Array<double>;
using Td = tg::Tensor<double>;

const fs::path kBinary = TG_BINARY_DIR "/sentiment";

}  // namespace

TEST_CASE("check_finite: a forward overflow names the op, its tape index and every input shape") {
  Td a(A{{1e200, 1e200}}, true, "a");  // (1,2)
  Td b(tg::test::array_of<double>({2, 1}, {1e200, 1.0}));  // a constant: it joins the tape as matmul's input
  tg::Tape<double> tape;
  tape.check_finite = true;
  const Td scaled = a * 2.0;  // #0 a, #1 mul_scalar: still finite
  CHECK(std::isfinite(scaled.value()(0, 0)));
  CHECK_THROWS_WITH_AS(tg::matmul(scaled, b),
                       "check-finite: matmul (tape #3, inputs (1,2), (2,1)) produced a non-finite value", tg::Error);
}

TEST_CASE("check_finite: an op outside the recorded graph is still checked, and says it was not recorded") {
  const Td x(A{0.0, 1.0});  // no gradient wanted: log is computed but not recorded
  tg::Tape<double> tape;
  tape.check_finite = true;
  CHECK_THROWS_WITH_AS(tg::log(x), "check-finite: log (not recorded, inputs (2)) produced a non-finite value",
                       tg::Error);
}

TEST_CASE("check_finite: a backward overflow names the op whose backward made it, not a later one") {
  // z = x ⊙ y = [1, 1] and w = z ⊙ y = [1e300, 1] are finite; backward through w gives
  // dz = y (finite), then backward through z gives dx = dz ⊙ y = [1e600, 1]: infinite.
  Td x(A{1e-300, 1.0}, true, "x"), y(A{1e300, 1.0}, true, "y");
  tg::Tape<double> tape;
  tape.check_finite = true;
  const Td z = x * y;  // #0 x, #1 y, #2 mul
  const Td w = z * y;  // #3 mul
  const Td loss = tg::sum(w);
  CHECK_THROWS_WITH_AS(tape.backward(loss),
                       "check-finite: backward of mul (tape #2, inputs (2), (2)) gave a non-finite gradient to input 0",
                       tg::Error);
}

TEST_CASE("check_finite: masked_fill's deliberate minus infinity before a softmax is not an anomaly") {
  // Attention pooling masks padding this way so that it gets exactly zero weight.
  Td e(A{{0.5, -1.0, 2.0}}, true);
  const tg::Mask padding = tg::test::array_of<bool>({1, 3}, {false, false, true});
  tg::Tape<double> tape;
  tape.check_finite = true;
  const Td alpha = tg::softmax(tg::masked_fill(e, padding, -std::numeric_limits<double>::infinity()), 1);
  CHECK(alpha.value()(0, 2) == 0);
  CHECK_NOTHROW(tape.backward(tg::sum(alpha * Td(A{{1.0, 2.0, 3.0}}))));
  CHECK(e.grad()(0, 2) == 0);
  // A NaN it was handed is still caught: by the op that consumes it when the fill is −∞
  // (the output may hold infinities), by masked_fill itself when the fill is finite.
  Td nan(A{{std::nan(""), 1.0, 2.0}}, true);
  CHECK_THROWS_WITH_AS(tg::softmax(tg::masked_fill(nan, padding, -std::numeric_limits<double>::infinity()), 1),
                       doctest::Contains("check-finite: softmax"), tg::Error);
  CHECK_THROWS_WITH_AS(tg::masked_fill(nan, padding, 0.0), doctest::Contains("check-finite: masked_fill"), tg::Error);
}

TEST_CASE("softmax: a NaN in a row comes out as NaN, not as zeros that would hide it") {
  const double inf = std::numeric_limits<double>::infinity();
  const Td x(tg::test::array_of<double>({2, 3}, {std::nan(""), 1.0, 2.0, -inf, -inf, -inf}));
  const A r = tg::softmax(x, 1).value();
  for (std::size_t j = 0; j < 3; ++j) CHECK(std::isnan(r(0, j)));
  for (std::size_t j = 0; j < 3; ++j) CHECK(r(1, j) == 0);  // a fully masked row: zeros, by design
}

TEST_CASE("check_finite: off, the same overflow passes silently (the reason the mode exists)") {
  Td x(A{1e-300, 1.0}, true), y(A{1e300, 1.0}, true);
  tg::Tape<double> tape;
  tape.backward(tg::sum((x * y) * y));
  CHECK(std::isinf(x.grad()(0)));
}

TEST_CASE("cli: --check-finite trains attention over padding, and names the first op to overflow") {
  if (!fs::exists(kBinary)) {
    MESSAGE("skipped: " << kBinary << " is not built");
    return;
  }
  const tg::test::ScratchDir scratch("anomaly");
  const std::vector<tg::SyntheticTweet> tweets = tg::generate_tweets(160, 3);
  tg::write_synthetic_csv(scratch / "train.csv", {tweets.begin(), tweets.begin() + 128});
  tg::write_synthetic_csv(scratch / "valid.csv", {tweets.begin() + 128, tweets.end()});
  const auto train = [&](const std::string& extra) {
    const std::string command =
        fmt::format("cd '{}' && '{}' train --train train.csv --valid valid.csv --out model --epochs 2 --hidden 8 "
                    "--embedding 8 --batch-size 32 --pooling attention {} > out.txt 2> err.txt",
                    scratch.dir.string(), kBinary.string(), extra);
    const int raw = std::system(command.c_str());
    return std::pair{WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, tg::read_file(scratch.dir / "err.txt")};
  };
  // A healthy run: attention's deliberate −∞ at padded positions is no anomaly.
  const auto [healthy_status, healthy_err] = train("--check-finite");
  CHECK_MESSAGE(healthy_status == 0, healthy_err);
  fs::remove_all(scratch.dir / "model");

  // Adam's first step moves every weight by ±lr = ±1e30, still a finite float; the second
  // batch's products of such weights overflow float.
  const auto [status, err] = train("--lr 1e30 --check-finite");
  CHECK(status == 1);
  CHECK_MESSAGE(err.rfind("sentiment: error: check-finite: ", 0) == 0, err);
  CHECK_MESSAGE(err.find("produced a non-finite value") != std::string::npos, err);
  CHECK_MESSAGE(err.find("(tape #") != std::string::npos, err);
  CHECK_MESSAGE(err.find("inputs (") != std::string::npos, err);
  CHECK(std::count(err.begin(), err.end(), '\n') == 1);
  CHECK_FALSE(fs::exists(scratch.dir / "model"));

  const auto [plain_status, plain_err] = train("--lr 1e30");
  CHECK(plain_status == 1);
  CHECK_MESSAGE(plain_err.find("epoch 1 batch 2: the") != std::string::npos, plain_err);
  CHECK_MESSAGE(plain_err.find("--check-finite") != std::string::npos, plain_err);
}
