// Tests for nn/npz: bit-exact round trips, strict rejection of damaged archives (every
// message names the file and member), atomic writes, the reference fixtures, and
// interchange with numpy itself when a python3 with numpy is on the machine. The .npy
// format inside each member has its own tests in test_npy.cpp.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "helpers.hpp"
#include "nn/npz.hpp"

#include <zip.h>

namespace fs = std::filesystem;
using tg::NpyArray;
using tg::test::bytes_of;
using tg::test::error_of;
using tg::test::raw;
using tg::test::ScratchDir;

namespace {

using Bytes = std::vector<std::byte>;

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return bytes_of(std::string(std::istreambuf_iterator<char>(in), {}));
}

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                               std::streamsize(bytes.size()));
}

// Replaces every occurrence of `from` (there must be `count`) by `to`, same length: the
// members are stored, so a .npy header can be edited in place inside the archive.
Bytes patched(Bytes bytes, std::string_view from, std::string_view to, int count = 1) {
  REQUIRE(from.size() == to.size());
  std::string s(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  int found = 0;
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + 1), ++found)
    s.replace(at, to.size(), to);
  REQUIRE(found == count);
  return bytes_of(s);
}

template <class T>
NpyArray make(const tg::Shape& shape, const std::vector<T>& values) {
  return tg::to_npy(tg::test::array_of(shape, values));
}

// Arrays of every dtype, with values whose bits must survive: -0, infinities, NaN,
// subnormals, extreme integers; and 0-d and empty-dimension shapes.
tg::NpzContents sample_arrays() {
  const double inf = std::numeric_limits<double>::infinity();
  return {
      {"lstm.weight_ih_l0", make<float>({2, 3}, {1.5f, -0.0f, 1e-45f, float(inf), -3.25e38f, 0.1f})},
      {"embedding.weight", make<double>({3, 1, 2}, {0.1, -0.0, 5e-324, -inf, 1e308, std::nan("")})},
      {"input.ids", make<std::int64_t>({2, 2}, {0, -1, std::numeric_limits<std::int64_t>::min(), 1ll << 40})},
      {"input.lengths", make<std::int32_t>({3}, {6, -3, std::numeric_limits<std::int32_t>::max()})},
      {"input.mask", make<bool>({2, 2}, {true, false, false, true})},
      {"output.loss", make<double>({}, {1.1477314927806592})},
      {"scalar.f32", make<float>({}, {-2.5f})},
      {"scalar.i64", make<std::int64_t>({}, {-7})},
      {"empty.rows", make<double>({0, 3}, {})},
      {"empty.middle", make<float>({4, 0, 2}, {})},
  };
}

// The first python3 that has numpy, or "" after saying that the test skips.
std::string python_with_numpy() {
  for (std::string python : {"python3", "/usr/bin/python3"})
    if (std::system((python + " -c 'import numpy' >/dev/null 2>&1").c_str()) == 0) return python;
  MESSAGE("skipped: no python3 with numpy");
  return "";
}

// Runs `script` under numpy's python with `args`; returns its stdout, or "" on failure.
std::string run_python(const std::string& python, const ScratchDir& dir, const std::string& script,
                       const std::string& args) {
  std::ofstream(dir / "script.py") << script;
  const std::string out = dir / "stdout.txt";
  const std::string cmd = fmt::format("{} '{}' {} > '{}' 2>&1", python, dir / "script.py", args, out);
  const int status = std::system(cmd.c_str());
  std::stringstream text;
  text << std::ifstream(out).rdbuf();
  INFO("python said: ", text.str());
  CHECK(status == 0);
  return status == 0 ? text.str() : "";
}

}  // namespace

TEST_CASE("npz: arrays of every dtype round-trip bit-exactly, 0-d and empty dims included") {
  ScratchDir dir("npz");
  const tg::NpzContents arrays = sample_arrays();
  tg::write_npz(dir / "a.npz", arrays);
  const tg::NpzContents back = tg::read_npz(dir / "a.npz");
  REQUIRE(back.size() == arrays.size());
  for (const auto& [key, array] : arrays) {
    INFO("key ", key);
    REQUIRE(back.contains(key));
    CHECK(back.at(key) == array);  // dtype, shape and every data byte
  }
  CHECK(back.at("output.loss").shape.empty());
  CHECK(back.at("output.loss").as<double>("t")() == 1.1477314927806592);
  CHECK(back.at("empty.middle").as<float>("t").shape() == std::vector<std::size_t>{4, 0, 2});
  const tg::Array<float> w = back.at("lstm.weight_ih_l0").as<float>("t");
  CHECK(std::bit_cast<std::uint32_t>(w(0, 1)) == 0x80000000u);  // -0.0 kept its sign
  CHECK(std::bit_cast<std::uint32_t>(w(0, 2)) == 1u);            // smallest subnormal
}

TEST_CASE("npz: many keys round-trip, and the same arrays always give the same bytes") {
  ScratchDir dir("npz");
  tg::NpzContents arrays;
  for (int i = 0; i < 300; ++i)
    arrays[fmt::format("layer{}.weight", i)] = make<double>({2}, {double(i), -0.5 * i});
  tg::write_npz(dir / "a.npz", arrays);
  tg::write_npz(dir / "b.npz", arrays);
  CHECK(tg::read_npz(dir / "a.npz") == arrays);
  CHECK(read_bytes(dir / "a.npz") == read_bytes(dir / "b.npz"));
  tg::write_npz(dir / "empty.npz", {});
  CHECK(tg::read_npz(dir / "empty.npz").empty());
}

TEST_CASE("npz: reads the flagship fixture's keys, dtypes, shapes and values") {
  const std::string path = std::string(TG_SHARED_DIR) + "/fixtures/flagship-attention.npz";
  if (!fs::exists(path)) {
    MESSAGE("skipped: " << path << " is absent");
    return;
  }
  const tg::NpzContents f = tg::read_npz(path);
  const auto check = [&](const std::string& key, tg::DType dtype, tg::Shape shape) {
    INFO("key ", key);
    REQUIRE(f.contains(key));
    CHECK(f.at(key).dtype == dtype);
    CHECK(f.at(key).shape == shape);
  };
  check("lstm.weight_ih_l0", tg::DType::f64, {16, 5});  // 4H x E, H = 4, E = 5
  check("embedding.weight", tg::DType::f64, {12, 5});
  check("input.ids", tg::DType::i64, {4, 6});
  check("output.alpha", tg::DType::f64, {4, 6});
  check("output.loss", tg::DType::f64, {});
  check("grad.attention.context", tg::DType::f64, {4});
  const tg::Ids lengths = f.at("input.lengths").as<std::int64_t>("t");
  CHECK(lengths == tg::Ids{6, 3, 1, 4});  // as the fixtures' README lists them
  const double loss = f.at("output.loss").as<double>("t")();
  CHECK(loss > 0.0);
  CHECK(loss < 10.0);
  const tg::Array<float> row0 = f.at("embedding.weight").as<float>("t");
  for (std::size_t e = 0; e < 5; ++e) CHECK(row0(0, e) == 0.0f);  // the padding row
}

TEST_CASE("npz: a missing file, garbage bytes and truncated archives are rejected naming the file") {
  ScratchDir dir("npz");
  CHECK(error_of([&] { tg::read_npz(dir / "missing.npz"); }) ==
        fmt::format("{}: cannot open: No such file", dir / "missing.npz"));
  write_bytes(dir / "garbage.npz", bytes_of("this is not a zip archive at all, just text\n"));
  CHECK(error_of([&] { tg::read_npz(dir / "garbage.npz"); }) ==
        fmt::format("{}: cannot open: Not a zip archive (not an .npz file)", dir / "garbage.npz"));
  // The commonest accidents are named: an empty file, a Git LFS pointer, a truncated copy.
  write_bytes(dir / "lfs.npz", bytes_of("version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 9\n"));
  CHECK(error_of([&] { tg::read_npz(dir / "lfs.npz"); }) ==
        fmt::format("{}: cannot open: Not a zip archive (a Git LFS pointer, not the data: run git lfs pull)",
                    dir / "lfs.npz"));

  tg::write_npz(dir / "good.npz", sample_arrays());
  const Bytes good = read_bytes(dir / "good.npz");
  for (std::size_t keep : {std::size_t{0}, std::size_t{1}, std::size_t{4}, std::size_t{40}, good.size() / 2,
                           good.size() - 23, good.size() - 22, good.size() - 1}) {
    INFO("kept the first ", keep, " of ", good.size(), " bytes");
    write_bytes(dir / "cut.npz", Bytes(good.begin(), good.begin() + std::ptrdiff_t(keep)));
    const std::string error = error_of([&] { tg::read_npz(dir / "cut.npz"); });
    CHECK(error.starts_with(dir / "cut.npz" + ": "));
    if (keep == 0) CHECK(error.ends_with("Not a zip archive (the file is empty)"));
    if (keep == good.size() / 2) CHECK(error.ends_with("Not a zip archive (a zip without its directory: truncated?)"));
  }
}

TEST_CASE("npz: a damaged member is rejected naming the file and the member") {
  ScratchDir dir("npz");
  const std::string path = dir / "m.npz";
  tg::write_npz(dir / "good.npz", {{"w", make<double>({2, 3}, {1, 2, 3, 4, 5, 6})}});
  const Bytes good = read_bytes(dir / "good.npz");
  const auto rejected = [&](const Bytes& bytes, const std::string& expected) {
    write_bytes(path, bytes);
    const std::string msg = error_of([&] { tg::read_npz(path); });
    INFO("message: ", msg);
    CHECK(msg.starts_with(path + ": member \"w.npy\": "));
    CHECK(msg.find(expected) != std::string::npos);
  };
  rejected(patched(good, "\x93NUMPY", "\x93NUMPX"), "bad magic string");
  rejected(patched(good, "NUMPY\x01", "NUMPY\x07"), "unsupported .npy format version 7.0");
  rejected(patched(good, "'<f8'", "'>f8'"), "unsupported dtype \">f8\"");
  rejected(patched(good, "'<f8'", "'|O8'"), "unsupported dtype \"|O8\"");
  rejected(patched(good, "(2, 3)", "(2, 4)"), "holds 48 data bytes but shape (2,4) of <f8 needs 64");
  rejected(patched(good, "(2, 3)", "(2, 2)"), "holds 48 data bytes but shape (2,2) of <f8 needs 32");
  const Bytes six = raw<double>({6.0});  // the last element: flipping a bit in it leaves
  Bytes flipped = good;                   // the header intact, so only the CRC can tell
  const auto at = std::search(flipped.begin(), flipped.end(), six.begin(), six.end());
  REQUIRE(at != flipped.end());
  at[0] ^= std::byte{0x01};
  rejected(flipped, "CRC error");
  write_bytes(path, patched(good, "w.npy", "w.npz", 2));
  CHECK(error_of([&] { tg::read_npz(path); }) ==
        path + ": member \"w.npz\": not a .npy member (an .npz holds only <key>.npy files)");
}

TEST_CASE("npz: an archive holding one key twice is rejected") {
  ScratchDir dir("npz");
  tg::write_npz(dir / "two.npz", {{"a", make<double>({1}, {1})}, {"b", make<double>({1}, {2})}});
  write_bytes(dir / "dup.npz", patched(read_bytes(dir / "two.npz"), "b.npy", "a.npy", 2));
  CHECK(error_of([&] { tg::read_npz(dir / "dup.npz"); }) ==
        dir / "dup.npz" + ": member \"a.npy\": duplicate key \"a\"");
}

TEST_CASE("npz: flipping any single byte gives the same arrays or a tg::Error naming the file") {
  const tg::NpzContents arrays = {{"w", make<float>({3}, {1, 2, 3})}, {"n", make<std::int64_t>({}, {5})}};
  ScratchDir dir("npz");
  tg::write_npz(dir / "good.npz", arrays);
  const Bytes good = read_bytes(dir / "good.npz");
  int rejected = 0;
  for (std::size_t i = 0; i < good.size(); ++i) {
    Bytes bytes = good;
    bytes[i] ^= std::byte{0xff};
    tg::NpzContents back;
    const std::string msg = error_of([&] { back = tg::read_npz_bytes(bytes, "flip.npz"); });
    INFO("flipped byte ", i, ": ", msg);
    CHECK((msg.empty() ? back == arrays : msg.starts_with("flip.npz: ")));
    rejected += !msg.empty();
  }
  CHECK(rejected > int(good.size()) / 2);
}

TEST_CASE("npz: a failed write leaves the old file byte-identical and no temporary behind") {
  ScratchDir dir("npz");
  const std::string path = dir / "ckpt.npz";
  tg::write_npz(path, {{"w", make<double>({1}, {1.0})}});
  const Bytes old = read_bytes(path);
  const auto unchanged = [&] {
    CHECK(read_bytes(path) == old);
    CHECK(tg::test::listing(dir.dir) == std::vector<std::string>{"ckpt.npz", "target.npz"});
  };
  fs::create_directory(dir / "target.npz");

  SUBCASE("the directory does not exist") {
    const std::string msg = error_of([&] { tg::write_npz(dir / "no/such/dir.npz", {}); });
    CHECK(msg.starts_with(dir / "no/such/dir.npz" + ": cannot create a temporary file"));
  }
  SUBCASE("an array's data does not match its shape: nothing is written") {
    NpyArray bad = make<double>({2}, {1, 2});
    bad.data.pop_back();
    CHECK(error_of([&] { tg::write_npz(path, {{"w", make<double>({1}, {2.0})}, {"x.y", bad}}); }) ==
          path + ": array \"x.y\": holds 15 data bytes but shape (2) of <f8 needs 16");
  }
  SUBCASE("the target is a directory: refused, never replaced (nn/atomic_file)") {
    const std::string msg = error_of([&] { tg::write_npz(dir / "target.npz", sample_arrays()); });
    CHECK(msg.find("is a directory, not a regular file; refusing to replace it") != std::string::npos);
    CHECK(fs::is_directory(dir / "target.npz"));
  }
  SUBCASE("the disk fills up mid-write (RLIMIT_FSIZE)") {
    struct rlimit saved;
    REQUIRE(getrlimit(RLIMIT_FSIZE, &saved) == 0);
    auto handler = signal(SIGXFSZ, SIG_IGN);  // get EFBIG instead of being killed
    struct rlimit small = saved;
    small.rlim_cur = 4096;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
    const std::string msg = error_of([&] {
      tg::write_npz(path, {{"w", tg::to_npy(tg::Array<double>(xt::zeros<double>({10000})))}});
    });
    setrlimit(RLIMIT_FSIZE, &saved);
    signal(SIGXFSZ, handler);
    CHECK(msg.starts_with(path + ": writing " + path + ".tmp-"));
    CHECK(msg.find("File too large") != std::string::npos);
  }
  unchanged();
}

TEST_CASE("npz: numpy loads what write_npz wrote, value for value") {
  const std::string python = python_with_numpy();
  if (python.empty()) return;
  ScratchDir dir("npz");
  const tg::NpzContents arrays = {
      {"f32", make<float>({2, 2}, {0.1f, -0.0f, 1e-45f, INFINITY})},
      {"f64", make<double>({3}, {0.1, -1e308, 5e-324})},
      {"i64", make<std::int64_t>({1, 2}, {-(1ll << 62), 7})},
      {"loss", make<double>({}, {1.25})},
      {"none", make<float>({0, 2}, {})},
  };
  tg::write_npz(dir / "a.npz", arrays);
  // One line per key: key, dtype, shape, then each value as a float64 or int repr.
  const std::string out = run_python(python, dir, R"(import sys, numpy as np
d = np.load(sys.argv[1])
for k in sorted(d.files):
    a = d[k]
    vals = [repr(float(v)) if a.dtype.kind == 'f' else str(int(v)) for v in a.ravel()]
    print(k, a.dtype.str, 'x'.join(map(str, a.shape)) or '-', *vals)
)", fmt::format("'{}'", dir / "a.npz"));
  std::istringstream lines(out);
  std::size_t seen = 0;
  for (std::string line; std::getline(lines, line); ++seen) {
    INFO("numpy printed: ", line);
    std::istringstream words(line);
    std::string key, descr, shape;
    words >> key >> descr >> shape;
    REQUIRE(arrays.contains(key));
    const NpyArray& a = arrays.at(key);
    CHECK(descr == tg::dtype_name(a.dtype));
    CHECK(shape == (a.shape.empty() ? "-" : fmt::format("{}", fmt::join(a.shape, "x"))));
    std::vector<std::string> values{std::istream_iterator<std::string>(words), {}};
    NpyArray from_numpy{a.dtype, a.shape, {}};
    for (const std::string& v : values) {
      const Bytes b = a.dtype == tg::DType::f32   ? raw<float>({float(std::strtod(v.c_str(), nullptr))})
                      : a.dtype == tg::DType::f64 ? raw<double>({std::strtod(v.c_str(), nullptr)})
                                                  : raw<std::int64_t>({std::stoll(v)});
      from_numpy.data.insert(from_numpy.data.end(), b.begin(), b.end());
    }
    CHECK(from_numpy == a);  // bit for bit, so -0.0 and subnormals count
  }
  CHECK(seen == arrays.size());
}

TEST_CASE("npz: reads what numpy.savez and savez_compressed wrote, Fortran order included") {
  const std::string python = python_with_numpy();
  if (python.empty()) return;
  ScratchDir dir("npz");
  run_python(python, dir, R"(import sys, numpy as np
a = dict(fortran=np.asfortranarray(np.arange(24.0).reshape(2, 3, 4) / 4),
         f32=np.array([1.5, -2.25], dtype=np.float32), i64=np.array([[1, -2], [3, 2**40]]),
         i32=np.array([5, -6], dtype=np.int32), flag=np.array([True, False, True]),
         scalar=np.float64(3.25), empty=np.zeros((0, 3)))
assert not a['fortran'].flags.c_contiguous
np.savez(sys.argv[1], **a)
np.savez_compressed(sys.argv[2], **a)
)", fmt::format("'{}' '{}'", dir / "plain.npz", dir / "deflated.npz"));
  for (const std::string name : {"plain.npz", "deflated.npz"}) {
    INFO("file ", name);
    const tg::NpzContents f = tg::read_npz(dir / name);
    CHECK(f.size() == 7);
    const tg::Array<double> fortran = f.at("fortran").as<double>("t");
    REQUIRE(fortran.shape() == std::vector<std::size_t>{2, 3, 4});
    for (std::size_t i = 0; i < 24; ++i) CHECK(fortran.data()[i] == double(i) / 4);
    CHECK(f.at("f32").as<float>("t") == tg::Array<float>{1.5f, -2.25f});
    CHECK(f.at("i64").as<std::int64_t>("t") == tg::Ids{{1, -2}, {3, 1ll << 40}});
    CHECK(f.at("i32").as<std::int64_t>("t") == tg::Ids{5, -6});
    CHECK(f.at("flag").as<bool>("t") == tg::Mask{true, false, true});
    CHECK(f.at("scalar").shape.empty());
    CHECK(f.at("scalar").as<double>("t")() == 3.25);
    CHECK(f.at("empty").shape == tg::Shape{0, 3});
  }
}

namespace {

// An .npz whose one member "w.npy" is a valid .npy header for (elements,) float32
// followed by zeros, deflated: a 1,000,000-element member is 4 MB declared, 4 KB stored.
Bytes deflated_npz(std::size_t elements) {
  NpyArray a{tg::DType::f32, {elements}, Bytes(elements * 4)};
  const Bytes npy = tg::serialize_npy(a);
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  REQUIRE(buffer);
  zip_source_keep(buffer);
  zip_t* archive = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  REQUIRE(archive);
  zip_source_t* data = zip_source_buffer(archive, npy.data(), npy.size(), 0);
  const zip_int64_t index = zip_file_add(archive, "w.npy", data, 0);
  REQUIRE(index == 0);
  REQUIRE(zip_set_file_compression(archive, 0, ZIP_CM_DEFLATE, 9) == 0);
  REQUIRE(zip_close(archive) == 0);
  REQUIRE(zip_source_open(buffer) == 0);
  zip_source_seek(buffer, 0, SEEK_END);
  Bytes out(std::size_t(zip_source_tell(buffer)));
  zip_source_seek(buffer, 0, SEEK_SET);
  REQUIRE(zip_source_read(buffer, out.data(), out.size()) == zip_int64_t(out.size()));
  zip_source_close(buffer);
  zip_source_free(buffer);
  return out;
}

}  // namespace

TEST_CASE("npz: with limits, a member's declared size and name are checked before it is inflated") {
  ScratchDir dir("npz");
  const std::string path = dir / "bomb.npz";
  const Bytes bomb = deflated_npz(1'000'000);  // 4,000,128 bytes declared
  CHECK(bomb.size() < 20'000);
  write_bytes(path, bomb);
  const tg::NpzLimits small = tg::float_array_limits({{"w", {2, 3}}});
  CHECK(small.max_member_bytes.at("w") == 8 + 4 + 65536 + 6 * 8);  // the widest header, 6 float64s
  CHECK(error_of([&] { tg::read_npz(path, small); }) ==
        path + ": member \"w.npy\": declares 4000128 bytes, more than its array can take (65596 bytes): a "
               "damaged file");
  CHECK(error_of([&] { tg::read_npz_bytes(bomb, "bytes.npz", small); }).starts_with("bytes.npz: member \"w.npy\": "
                                                                                    "declares 4000128 bytes"));
  // A key the reader does not expect is refused whatever its size, naming why.
  tg::NpzLimits other = tg::float_array_limits({{"v", {1'000'000}}});
  other.unexpected_note = "the model has no such parameter";
  CHECK(error_of([&] { tg::read_npz(path, other); }) ==
        path + ": unexpected key \"w\" (the model has no such parameter)");
  // Within its limits the same archive reads, equal to the unchecked read.
  const tg::NpzLimits fits = tg::float_array_limits({{"w", {1'000'000}}});
  CHECK(tg::read_npz(path, fits) == tg::read_npz(path));
}

TEST_CASE("npz: with limits, a file larger than the expected arrays together is refused by its size alone") {
  ScratchDir dir("npz");
  const std::string path = dir / "big.npz";
  tg::write_npz(path, {{"w", make<double>({1000}, std::vector<double>(1000, 1.0))}});  // stored: 8 KB
  const tg::NpzLimits small = tg::float_array_limits({{"w", {2}}});
  CHECK(tg::read_npz(path, small).at("w").shape == tg::Shape{1000});  // within 64 KiB of header room: read
  fs::resize_file(path, std::uintmax_t{2} << 30);  // a 2 GiB sparse file: not read at all
  CHECK(error_of([&] { tg::read_npz(path, small); }) ==
        fmt::format("{}: 2147483648 bytes, more than an archive of the expected arrays can be ({} bytes)", path,
                    65536 + 12 + 16 + 2 * 5 + 1024 + 65 + 22 + 56 + 20 + 65535));
}
