// Tests for nn/npy: NpyArray::as converts only where nothing is lost, Fortran order is
// transposed, every header spelling numpy writes is read, and each malformed .npy is
// rejected with a message naming the file and the fault.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "helpers.hpp"
#include "nn/npy.hpp"

using tg::NpyArray;
using tg::test::error_of;
using tg::test::raw;

namespace {

using Bytes = std::vector<std::byte>;

// A .npy file with the given header text (version `major`.0).
Bytes npy(const std::string& header, const Bytes& data = {}, int major = 1) {
  std::string out = "\x93NUMPY";
  out += char(major);
  out += '\0';
  const std::size_t n = header.size();
  out += char(n & 0xff);
  out += char(n >> 8);
  if (major > 1) out += std::string{char(n >> 16), char(n >> 24)};
  Bytes bytes = tg::test::bytes_of(out + header);
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

template <class T>
NpyArray make(const tg::Shape& shape, const std::vector<T>& values) {
  return tg::to_npy(tg::test::array_of(shape, values));
}

}  // namespace

TEST_CASE("npy: as<T> converts between float types and widens ints, nothing lossy or cross-kind") {
  CHECK(make<float>({2}, {1.5f, -0.25f}).as<double>("t") == tg::Array<double>{1.5, -0.25});
  CHECK(make<double>({2}, {0.1, -INFINITY}).as<float>("t") == tg::Array<float>{0.1f, -INFINITY});
  CHECK(make<std::int32_t>({2}, {-3, 7}).as<std::int64_t>("t") == tg::Ids{-3, 7});
  CHECK(make<std::int64_t>({1}, {-3}).as<std::int32_t>("t") == xt::xarray<std::int32_t>{-3});
  CHECK(make<bool>({2}, {true, false}).as<bool>("t") == tg::Mask{true, false});

  CHECK(error_of([] { make<double>({2}, {1.0, 1e300}).as<float>("m.npz: w"); }) ==
        "m.npz: w: element 1 (1e+300) does not fit in <f4");
  CHECK(error_of([] { make<std::int64_t>({2}, {1, 1ll << 40}).as<std::int32_t>("m.npz: ids"); }) ==
        "m.npz: ids: element 1 (1099511627776) does not fit in <i4");
  CHECK(error_of([] { make<std::int64_t>({1}, {1}).as<float>("m.npz: ids"); }) ==
        "m.npz: ids: stored as <i8, which does not convert to <f4");
  CHECK(error_of([] { make<double>({1}, {1}).as<std::int64_t>("m.npz: w"); }) ==
        "m.npz: w: stored as <f8, which does not convert to <i8");
  CHECK(error_of([] { make<double>({1}, {1}).as<bool>("m.npz: w"); }) ==
        "m.npz: w: stored as <f8, which does not convert to |b1");
  NpyArray short_data = make<double>({3}, {1, 2, 3});
  short_data.data.resize(16);
  CHECK(error_of([&] { short_data.as<double>("m.npz: w"); }) ==
        "m.npz: w: holds 16 data bytes but shape (3) of <f8 needs 24");
}

TEST_CASE("npy: Fortran-order arrays are transposed into C order") {
  // F order of a (2,3,4) array: element (i,j,k) sits at i + 2j + 6k; store that index.
  Bytes data(24 * 8);
  for (int f = 0; f < 24; ++f) {
    const double v = f;
    std::memcpy(data.data() + 8 * f, &v, 8);
  }
  const NpyArray a =
      tg::parse_npy(npy("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3, 4), }\n", data), "f.npy");
  const tg::Array<double> c = a.as<double>("t");
  REQUIRE(c.shape() == std::vector<std::size_t>{2, 3, 4});
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      for (std::size_t k = 0; k < 4; ++k) CHECK(c(i, j, k) == double(i + 2 * j + 6 * k));
}

TEST_CASE("npy: other spellings numpy may write are accepted") {
  const Bytes two = raw<double>({1.0, 2.0});
  for (const std::string header : {
           "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }      \n",
           "{\"shape\": (2,), \"descr\": \"<f8\", \"fortran_order\": False}",
           "{'descr':'<f8','fortran_order':False,'shape':(2,)}\n",
       }) {
    INFO("header ", header);
    for (int major : {1, 2, 3})
      CHECK(tg::parse_npy(npy(header, two, major), "x.npy") == make<double>({2}, {1.0, 2.0}));
  }
  CHECK(tg::parse_npy(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2,), }", two), "x.npy")
            .shape == tg::Shape{1, 2});
}

TEST_CASE("npy: each malformed file is rejected with a message naming it and the fault") {
  const std::string ok = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n";
  const Bytes two = raw<double>({1.0, 2.0});
  const Bytes good = npy(ok, two);
  const Bytes huge_header = npy(std::string(70000, ' '), {}, 2);
  Bytes bad_magic = good;
  bad_magic[5] = std::byte{'X'};
  const auto header = [](std::string descr, std::string order, std::string shape) {
    return fmt::format("{{'descr': {}, 'fortran_order': {}, 'shape': {}, }}\n", descr, order, shape);
  };
  const std::vector<std::pair<Bytes, std::string>> cases = {
      {{}, "truncated: ended after 0 of the 8 bytes of the magic string"},
      {bad_magic, "not a .npy file (bad magic string)"},
      {npy(ok, two, 4), "unsupported .npy format version 4.0"},
      {huge_header, "header length 70000 exceeds 65536 bytes"},
      {Bytes(good.begin(), good.begin() + 30), "truncated: ended after 20 of the"},
      {npy(header("'>f4'", "False", "(2,)"), two), "unsupported dtype \">f4\""},
      {npy(header("'|O'", "False", "(2,)"), two), "unsupported dtype \"|O\""},
      {npy(header("'<f8'", "Maybe", "(2,)"), two), "expected True or False"},
      {npy(header("'<f8'", "False", "(2)"), two), "a 1-tuple needs a trailing comma"},
      {npy(header("'<f8'", "False", "(-2,)"), two), "expected a non-negative integer"},
      {npy(header("'<f8'", "False", "(99999999999,)"), two), "dimension larger than 2^31"},
      {npy(header("'<f8'", "False", "(65536, 65536)"), two), "shape (65536,65536) has more than 2^31 elements"},
      {npy("{'descr': '<f8", two), "unterminated string"},
      {npy("{'descr': '<f8', 'shape': (2,), }", two), "it needs the keys"},
      {npy("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2,)}", two), "repeated key \"descr\""},
      {npy(ok + "x", two), "text after the closing brace"},
      {npy(ok + std::string(1, '\0') + "x", two), "text after the closing brace"},
      {npy("[]", two), "expected '{'"},
      {npy(ok, raw<double>({1.0})), "holds 8 data bytes but shape (2) of <f8 needs 16"},
      {npy(ok, raw<double>({1.0, 2.0, 3.0})), "holds 24 data bytes but shape (2) of <f8 needs 16"},
      {npy(header("'|b1'", "False", "(2,)"), raw<std::uint8_t>({1, 2})), "bool element 1 is 2 (expected 0 or 1)"},
  };
  for (const auto& [bytes, expected] : cases) {
    const std::string msg = error_of([&] { tg::parse_npy(bytes, "dir/x.npy"); });
    INFO("message: ", msg);
    CHECK(msg.starts_with("dir/x.npy: "));
    CHECK(msg.find(expected) != std::string::npos);
  }
  std::string many_dims = "(";
  for (int i = 0; i < 65; ++i) many_dims += "1, ";
  CHECK(error_of([&] { tg::parse_npy(npy(header("'<f8'", "False", many_dims + ")"), {}), "x.npy"); })
            .find("more than 64 dimensions") != std::string::npos);
}
