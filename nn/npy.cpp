// The .npy format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
// the header's Python dict literal is parsed by hand, strictly and within fixed bounds.
// Internal helpers throw tg::Error with a bare message; parse_npy and NpyArray::as
// prefix it with the name they are given, so every message says where the fault is.
#include "nn/npy.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <type_traits>

#include <fmt/format.h>

#include "autograd/error.hpp"

namespace tg {
namespace {

static_assert(std::endian::native == std::endian::little,
              ".npy data is little-endian and is copied as is");

// Bounds that keep hostile input from exhausting memory: the header of any array we
// write is under 200 bytes, numpy allows 64 dimensions, and 2^31 elements is far
// beyond any tapegrad model.
constexpr std::size_t kMaxHeaderBytes = 1 << 16;
constexpr std::size_t kMaxRank = 64;
constexpr std::uint64_t kMaxElements = std::uint64_t{1} << 31;
constexpr std::size_t kReadChunk = 1 << 20;
constexpr std::string_view kMagic = "\x93NUMPY";

std::size_t item_size(DType dtype) {
  switch (dtype) {
    case DType::f64: case DType::i64: return 8;
    case DType::f32: case DType::i32: return 4;
    case DType::b1: return 1;
  }
  throw Error("invalid DType");
}

std::optional<DType> parse_dtype(std::string_view descr) {
  for (DType d : {DType::f32, DType::f64, DType::i64, DType::i32, DType::b1})
    if (descr == dtype_name(d)) return d;
  return std::nullopt;
}

// Number of elements of `shape`; throws past kMaxElements, so callers can multiply
// by an item size without overflow.
std::uint64_t checked_count(const Shape& shape) {
  std::uint64_t count = 1;
  for (std::size_t dim : shape) {
    if (dim > kMaxElements || (count *= dim) > kMaxElements)
      throw Error(fmt::format("shape {} has more than 2^31 elements", shape_str(shape)));
  }
  return count;
}

void check_data_size(std::uint64_t bytes, const Shape& shape, DType dtype) {
  const std::uint64_t want = checked_count(shape) * item_size(dtype);
  if (bytes != want)
    throw Error(fmt::format("holds {} data bytes but shape {} of {} needs {}", bytes,
                            shape_str(shape), dtype_name(dtype), want));
}

void check_array(const NpyArray& a) {
  check_data_size(a.data.size(), a.shape, a.dtype);
  if (a.dtype != DType::b1) return;
  for (std::size_t i = 0; i < a.data.size(); ++i)
    if (a.data[i] > std::byte{1})
      throw Error(fmt::format("bool element {} is {} (expected 0 or 1)", i, int(a.data[i])));
}

// ---- the .npy header: a Python dict literal such as
//   {'descr': '<f8', 'fortran_order': False, 'shape': (4, 6), }
struct Header {
  std::optional<DType> dtype;
  std::optional<bool> fortran_order;
  std::optional<Shape> shape;
};

class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : s_(text) {}

  Header parse() {
    Header h;
    expect('{');
    while (skip_space() != '}') {
      const std::string key = string_literal();
      expect(':');
      if (key == "descr" && !h.dtype) h.dtype = dtype();
      else if (key == "fortran_order" && !h.fortran_order) h.fortran_order = boolean();
      else if (key == "shape" && !h.shape) h.shape = shape();
      else fail(fmt::format("unexpected or repeated key {}", printable(key)));
      if (skip_space() != '}') expect(',');
    }
    ++i_;
    skip_space();
    if (i_ != s_.size()) fail("text after the closing brace");
    if (!h.dtype || !h.fortran_order || !h.shape)
      fail("it needs the keys 'descr', 'fortran_order' and 'shape'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(fmt::format("bad .npy header {} at character {}: {}", printable(s_), i_ + 1, what));
  }
  // The next non-space character, or '\0' at the end; numpy pads with spaces and '\n'.
  char skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n')) ++i_;
    return i_ < s_.size() ? s_[i_] : '\0';
  }
  void expect(char c) {
    if (skip_space() != c) fail(fmt::format("expected '{}'", c));
    ++i_;
  }
  std::string string_literal() {
    const char q = skip_space();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    const std::size_t end = s_.find(q, ++i_);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string out(s_.substr(i_, end - i_));
    i_ = end + 1;
    return out;
  }
  DType dtype() {
    const std::string descr = string_literal();
    if (auto d = parse_dtype(descr)) return *d;
    fail(fmt::format("unsupported dtype {} (tapegrad reads <f4, <f8, <i8, <i4 and |b1)",
                     printable(descr)));
  }
  bool boolean() {
    skip_space();
    for (bool value : {true, false}) {
      const std::string_view word = value ? "True" : "False";
      if (s_.substr(i_, word.size()) == word) return i_ += word.size(), value;
    }
    fail("expected True or False");
  }
  std::size_t integer() {
    skip_space();
    std::size_t start = i_, value = 0;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
      value = value * 10 + std::size_t(s_[i_++] - '0');
      if (value > kMaxElements) fail("dimension larger than 2^31");
    }
    if (i_ == start) fail("expected a non-negative integer");
    return value;
  }
  // "()", "(4,)" or "(4, 6)": like Python, one element needs its trailing comma.
  Shape shape() {
    Shape out;
    expect('(');
    while (skip_space() != ')') {
      if (out.size() == kMaxRank) fail(fmt::format("more than {} dimensions", kMaxRank));
      out.push_back(integer());
      if (skip_space() == ',') ++i_;
      else if (out.size() == 1) fail("a 1-tuple needs a trailing comma");
      else if (skip_space() != ')') fail("expected ',' or ')'");
    }
    ++i_;
    return out;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

// ---- reading one .npy from a byte stream (a zip member or a buffer)
// Grows the buffer as bytes arrive, so a header that lies about its size cannot make
// us allocate more than the input holds.
std::vector<std::byte> read_exact(const ReadSome& read, std::size_t n, std::string_view what) {
  std::vector<std::byte> out;
  while (out.size() < n) {
    const std::size_t have = out.size();
    out.resize(have + std::min(n - have, kReadChunk));
    for (std::size_t at = have; at < out.size();) {
      const std::size_t got = read(out.data() + at, out.size() - at);
      if (got == 0)
        throw Error(fmt::format("truncated: ended after {} of the {} bytes of the {}", at, n, what));
      at += got;
    }
  }
  return out;
}

std::uint32_t little_endian(const std::vector<std::byte>& b) {
  std::uint32_t v = 0;
  for (std::size_t i = b.size(); i-- > 0;) v = (v << 8) | std::to_integer<std::uint32_t>(b[i]);
  return v;
}

std::vector<std::byte> fortran_to_c(const std::vector<std::byte>& f, const Shape& shape,
                                    std::size_t item) {
  std::vector<std::byte> c(f.size());
  std::vector<std::size_t> index(shape.size(), 0), stride(shape.size());
  for (std::size_t k = 0, s = 1; k < shape.size(); s *= shape[k], ++k) stride[k] = s;
  std::size_t from = 0;  // Fortran-order position of the C-order element `to`
  for (std::size_t to = 0; to < c.size() / item; ++to) {
    std::memcpy(&c[to * item], &f[from * item], item);
    for (std::size_t k = shape.size(); k-- > 0;) {
      if (++index[k] < shape[k]) { from += stride[k]; break; }
      from -= (shape[k] - 1) * stride[k];
      index[k] = 0;
    }
  }
  return c;
}

// ---- conversions between stored and in-memory element types
template <class T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, float>) return DType::f32;
  else if constexpr (std::is_same_v<T, double>) return DType::f64;
  else if constexpr (std::is_same_v<T, std::int64_t>) return DType::i64;
  else if constexpr (std::is_same_v<T, std::int32_t>) return DType::i32;
  else return DType::b1;
}

template <class T>
constexpr bool kSignedInt = std::is_integral_v<T> && std::is_signed_v<T>;

// S is the stored type (bools are stored as uint8_t bytes), T the requested one.
template <class S, class T>
constexpr bool kConvertible = (std::is_floating_point_v<S> && std::is_floating_point_v<T>) ||
                              (kSignedInt<S> && kSignedInt<T>) ||
                              (std::is_same_v<S, std::uint8_t> && std::is_same_v<T, bool>);

template <class S, class T>
void convert(const NpyArray& a, T* out, std::string_view what) {
  if constexpr (!kConvertible<S, T>) {
    throw Error(fmt::format("{}: stored as {}, which does not convert to {}", what,
                            dtype_name(a.dtype), dtype_name(dtype_of<T>())));
  } else {
    for (std::size_t i = 0; i < a.data.size() / sizeof(S); ++i) {
      S v;
      std::memcpy(&v, a.data.data() + i * sizeof(S), sizeof(S));
      bool fits = true;
      if constexpr (std::is_floating_point_v<S> && sizeof(T) < sizeof(S))
        fits = !std::isfinite(v) || std::fabs(v) <= std::numeric_limits<T>::max();
      else if constexpr (kSignedInt<S> && sizeof(T) < sizeof(S))
        fits = v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max();
      if (!fits)
        throw Error(fmt::format("{}: element {} ({}) does not fit in {}", what, i, v,
                                dtype_name(dtype_of<T>())));
      out[i] = static_cast<T>(v);
    }
  }
}

}  // namespace

std::string printable(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text.substr(0, 80))
    out += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? std::string(1, char(c))
                                                             : fmt::format("\\x{:02x}", c);
  return out + (text.size() > 80 ? "\"..." : "\"");
}

NpyArray read_npy(const ReadSome& read, std::uint64_t total_size) {
  const std::vector<std::byte> prefix = read_exact(read, 8, "magic string and version");
  if (std::memcmp(prefix.data(), kMagic.data(), kMagic.size()) != 0)
    throw Error("not a .npy file (bad magic string)");
  const auto major = std::to_integer<int>(prefix[6]), minor = std::to_integer<int>(prefix[7]);
  if (major < 1 || major > 3 || minor != 0)
    throw Error(fmt::format("unsupported .npy format version {}.{}", major, minor));
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  const std::size_t header_len = little_endian(read_exact(read, len_bytes, "header length"));
  if (header_len > kMaxHeaderBytes)
    throw Error(fmt::format("header length {} exceeds {} bytes", header_len, kMaxHeaderBytes));
  const std::vector<std::byte> text = read_exact(read, header_len, "header");
  const Header h = HeaderParser({reinterpret_cast<const char*>(text.data()), text.size()}).parse();

  NpyArray a{*h.dtype, *h.shape, {}};
  // Checked before reading, so a lying shape never gets its bytes allocated.
  check_data_size(total_size - std::min(total_size, 8 + len_bytes + header_len), a.shape, a.dtype);
  a.data = read_exact(read, checked_count(a.shape) * item_size(a.dtype), "data");
  std::byte extra;
  if (read(&extra, 1) != 0) throw Error("bytes after the data");
  if (*h.fortran_order) a.data = fortran_to_c(a.data, a.shape, item_size(a.dtype));
  check_array(a);
  return a;
}

std::uint64_t max_npy_bytes(std::uint64_t elements, std::size_t item_size) {
  // The magic string and version (8 bytes), a 4-byte header length (versions 2 and 3),
  // the header, the data. Elements past kMaxElements are refused anyway: no overflow.
  return 8 + 4 + kMaxHeaderBytes + std::min(elements, kMaxElements) * item_size;
}

std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32: return "<f4";
    case DType::f64: return "<f8";
    case DType::i64: return "<i8";
    case DType::i32: return "<i4";
    case DType::b1: return "|b1";
  }
  throw Error("invalid DType");
}

template <class T>
Array<T> NpyArray::as(std::string_view what) const {
  try {
    check_array(*this);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", what, e.what()));
  }
  Array<T> out = Array<T>::from_shape(shape);
  switch (dtype) {
    case DType::f32: convert<float>(*this, out.data(), what); break;
    case DType::f64: convert<double>(*this, out.data(), what); break;
    case DType::i64: convert<std::int64_t>(*this, out.data(), what); break;
    case DType::i32: convert<std::int32_t>(*this, out.data(), what); break;
    case DType::b1: convert<std::uint8_t>(*this, out.data(), what); break;
  }
  return out;
}

template <class T>
NpyArray to_npy(const Array<T>& array) {
  // Array<T> is row-major, so its storage already is C order.
  NpyArray a{dtype_of<T>(), Shape(array.shape().begin(), array.shape().end()), {}};
  a.data.resize(array.size() * sizeof(T));
  if (!a.data.empty()) std::memcpy(a.data.data(), array.data(), a.data.size());
  return a;
}

#define TG_NPZ_INSTANTIATE(T)                                   \
  template Array<T> NpyArray::as<T>(std::string_view) const; \
  template NpyArray to_npy<T>(const Array<T>&);
TG_NPZ_INSTANTIATE(float)
TG_NPZ_INSTANTIATE(double)
TG_NPZ_INSTANTIATE(std::int64_t)
TG_NPZ_INSTANTIATE(std::int32_t)
TG_NPZ_INSTANTIATE(bool)
#undef TG_NPZ_INSTANTIATE

NpyArray parse_npy(std::span<const std::byte> bytes, const std::string& name) {
  std::size_t at = 0;
  const ReadSome read = [&](std::byte* out, std::size_t n) {
    n = std::min(n, bytes.size() - at);
    if (n) std::memcpy(out, bytes.data() + at, n);
    at += n;
    return n;
  };
  try {
    return read_npy(read, bytes.size());
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", name, e.what()));
  }
}

std::vector<std::byte> serialize_npy(const NpyArray& a) {
  check_array(a);
  std::string shape;  // as Python writes a tuple: "", "4," or "4, 6"
  for (std::size_t i = 0; i < a.shape.size(); ++i) shape += fmt::format("{}{},", i ? " " : "", a.shape[i]);
  if (a.shape.size() > 1) shape.pop_back();
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}",
                                   dtype_name(a.dtype), shape);
  // numpy pads the header with spaces and a '\n' so the data starts 64-byte aligned.
  header.resize(header.size() + 63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::vector<std::byte> out(10 + header.size() + a.data.size());
  std::memcpy(out.data(), kMagic.data(), kMagic.size());
  out[6] = std::byte{1};  // version 1.0: the header length is two bytes
  out[8] = std::byte(header.size() & 0xff);
  out[9] = std::byte(header.size() >> 8);
  std::memcpy(out.data() + 10, header.data(), header.size());
  if (!a.data.empty()) std::memcpy(out.data() + 10 + header.size(), a.data.data(), a.data.size());
  return out;
}

}  // namespace tg
