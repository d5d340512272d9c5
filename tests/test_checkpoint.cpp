// Tests for nn/checkpoint: bit-exact round trips at both precisions, all-or-nothing
// loading that rejects damaged and mismatched files naming the file and parameter,
// numpy reading what we save, and PyTorch's reference weights loading by name.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "nn/checkpoint.hpp"
#include "nn/embedding.hpp"
#include "nn/linear.hpp"

namespace fs = std::filesystem;
using tg::Array;

namespace {

template <class T>
struct Tiny : tg::Module<T> {
  tg::Embedding<T> embedding;
  tg::Linear<T> proj;
  explicit Tiny(std::uint64_t seed) : Tiny(std::mt19937_64(seed)) {}
  explicit Tiny(std::mt19937_64&& rng) : embedding(6, 3, rng), proj(3, 4, rng) {
    this->register_module("embedding", embedding);
    this->register_module("proj", proj);
  }
};

// A fresh directory per test case, removed afterwards.
struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("tg-ckpt-" + std::to_string(::getpid()));
  Scratch() { fs::create_directories(dir); }
  ~Scratch() { fs::remove_all(dir); }
  std::string operator/(const char* name) const { return (dir / name).string(); }
};

// Every parameter's bytes, so "unchanged" means bit for bit.
template <class T>
std::vector<std::string> snapshot(const tg::Module<T>& m) {
  std::vector<std::string> out;
  for (const auto& [name, p] : m.named_parameters())
    out.push_back(name + std::string(reinterpret_cast<const char*>(p.value().data()), p.size() * sizeof(T)));
  return out;
}

// Writes `arrays` to `path`, checks that loading them into a fresh model throws a
// message containing the path and `expected`, and that the model did not change.
void check_rejected(const std::string& path, const tg::NpzContents& arrays, const std::string& expected) {
  tg::write_npz(path, arrays);
  Tiny<float> model(2);
  const auto before = snapshot(model);
  CHECK_THROWS_WITH_AS(tg::load_parameters(model, path), doctest::Contains(path.c_str()), tg::Error);
  CHECK_THROWS_WITH_AS(tg::load_parameters(model, path), doctest::Contains(expected.c_str()), tg::Error);
  CHECK(snapshot(model) == before);
}

}  // namespace

TEST_CASE_TEMPLATE("checkpoint: save then load restores every parameter bit for bit", T, float, double) {
  Scratch tmp;
  Tiny<T> saved(1), loaded(2);
  REQUIRE(snapshot(saved) != snapshot(loaded));
  tg::save_parameters(saved, tmp / "tiny.npz");
  tg::load_parameters(loaded, tmp / "tiny.npz");
  CHECK(snapshot(loaded) == snapshot(saved));
  // Note [Checkpoint dtypes]: stored in the model's own precision, under the state_dict names
  const tg::NpzContents file = tg::read_npz(tmp / "tiny.npz");
  std::vector<std::string> keys;
  for (const auto& [key, array] : file) {
    keys.push_back(key);
    CHECK(array.dtype == (std::is_same_v<T, float> ? tg::DType::f32 : tg::DType::f64));
  }
  CHECK(keys == std::vector<std::string>{"embedding.weight", "proj.bias", "proj.weight"});
}

TEST_CASE("checkpoint: float64 loads into a float model rounded, float32 into a double one exactly") {
  Scratch tmp;
  Tiny<double> wide(1);
  Tiny<float> narrow(2);
  tg::save_parameters(wide, tmp / "f64.npz");
  tg::load_parameters(narrow, tmp / "f64.npz");
  const Array<float> want = xt::cast<float>(wide.proj.weight.value());
  CHECK(narrow.proj.weight.value() == want);
  tg::save_parameters(narrow, tmp / "f32.npz");
  tg::load_parameters(wide, tmp / "f32.npz");
  CHECK(wide.proj.weight.value() == Array<double>(xt::cast<double>(want)));
}

TEST_CASE("checkpoint: a missing, extra, wrongly shaped or integer parameter is refused, nothing loaded") {
  Scratch tmp;
  const tg::NpzContents good = tg::state_dict(Tiny<float>(1));
  tg::NpzContents missing = good, extra = good, misshapen = good, integer = good, several = good;
  missing.erase("proj.bias");
  check_rejected(tmp / "missing.npz", missing, "missing parameter proj.bias (4)");
  extra.emplace("proj.scale", tg::to_npy<float>(Array<float>{1.0f}));
  check_rejected(tmp / "extra.npz", extra, "unexpected key \"proj.scale\" (the model has no such parameter)");
  misshapen["proj.weight"] = tg::to_npy<float>(Array<float>(xt::zeros<float>({3, 3})));
  check_rejected(tmp / "shape.npz", misshapen, "proj.weight has shape (3,3) but the model's is (4,3)");
  integer["proj.weight"] = tg::to_npy<std::int64_t>(Array<std::int64_t>(xt::zeros<std::int64_t>({4, 3})));
  check_rejected(tmp / "int.npz", integer, "proj.weight: stored as <i8, which does not convert to <f4");
  // Every problem is reported at once; the good entries are not loaded either.
  several.erase("embedding.weight");
  several["proj.bias"] = tg::to_npy<bool>(Array<bool>{true, false, true, true});
  check_rejected(tmp / "several.npz", several, "missing parameter embedding.weight (6,3); proj.bias: stored as |b1");
}

TEST_CASE("checkpoint: damaged files are refused naming the file, the model unchanged") {
  Scratch tmp;
  tg::save_parameters(Tiny<double>(1), tmp / "good.npz");
  std::ifstream in(tmp / "good.npz", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() > 200);
  std::ofstream(tmp / "truncated.npz", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  std::ofstream(tmp / "garbage.npz", std::ios::binary) << "this is not a zip archive at all";
  std::string flipped = bytes;
  flipped[bytes.size() / 3] ^= 0x5a;  // inside a member's data: caught by the zip CRC
  std::ofstream(tmp / "flipped.npz", std::ios::binary) << flipped;
  Tiny<double> model(2);
  const auto before = snapshot(model);
  for (const char* name : {"truncated.npz", "garbage.npz", "flipped.npz", "absent.npz"}) {
    INFO(name);
    CHECK_THROWS_WITH_AS(tg::load_parameters(model, tmp / name), doctest::Contains((tmp / name).c_str()),
                         tg::Error);
    CHECK(snapshot(model) == before);
  }
}

TEST_CASE("checkpoint: numpy reads a saved checkpoint and sees the same numbers") {
  std::string python;  // PATH's python3 may be a virtualenv without numpy; Debian's may have it
  for (const char* candidate : {"python3", "/usr/bin/python3"})
    if (python.empty() && std::system((candidate + std::string(" -c 'import numpy' 2>/dev/null")).c_str()) == 0)
      python = candidate;
  if (python.empty()) {
    MESSAGE("skipped: no python3 with numpy");
    return;
  }
  Scratch tmp;
  Tiny<float> model(1);
  tg::save_parameters(model, tmp / "tiny.npz");
  // One line per array: name, dtype, shape, then each value as the shortest repr that
  // round-trips its double (float32 values widen exactly), so equality is exact.
  std::ofstream(tmp / "dump.py") << "import sys, numpy as np\n"
                                    "for k, a in sorted(np.load(sys.argv[1]).items()):\n"
                                    "    shape = '(' + ','.join(map(str, a.shape)) + ')'\n"
                                    "    print(k, a.dtype, shape, *[repr(float(v)) for v in a.ravel()])\n";
  const std::string cmd = python + " '" + tmp / "dump.py" + "' '" + tmp / "tiny.npz" + "' > '" + tmp / "out.txt" + "'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::ifstream out(tmp / "out.txt");
  std::string line;
  std::size_t arrays = 0;
  while (std::getline(out, line)) {
    INFO("numpy printed: ", line);
    std::istringstream words(line);
    std::string name, dtype, shape;
    words >> name >> dtype >> shape;
    const tg::Tensor<float> p = model.parameter(name);
    CHECK(dtype == "float32");
    CHECK(shape == tg::shape_str(p.shape()));
    std::vector<double> values;
    for (std::string v; words >> v;) values.push_back(std::strtod(v.c_str(), nullptr));
    REQUIRE(values.size() == p.size());
    for (std::size_t i = 0; i < values.size(); ++i) CHECK(values[i] == double(p.value().data()[i]));
    ++arrays;
  }
  CHECK(arrays == 3);
}

TEST_CASE("checkpoint: PyTorch's classifier weights load into a Linear through a sub-dictionary") {
  const std::string path = std::string(TG_SHARED_DIR) + "/fixtures/flagship-attention.npz";
  if (!fs::exists(path)) {
    MESSAGE("skipped: no fixture at " << path);
    return;
  }
  const tg::NpzContents fx = tg::read_npz(path);
  const tg::NpzContents classifier = tg::sub_dict(fx, "classifier.");
  REQUIRE(classifier.size() == 2);  // "weight" and "bias"; step1.classifier.* do not start with the prefix
  std::mt19937_64 rng(1);
  tg::Linear<double> linear(4, 3, rng);
  tg::load_state_dict(linear, classifier, path);
  CHECK(linear.weight.value() == fx.at("classifier.weight").as<double>("w"));
  CHECK(linear.bias.value() == fx.at("classifier.bias").as<double>("b"));
  tg::Linear<double> wrong(5, 3, rng);
  CHECK_THROWS_WITH_AS(tg::load_state_dict(wrong, classifier, path),
                       doctest::Contains("weight has shape (3,4) but the model's is (3,5)"), tg::Error);
}
