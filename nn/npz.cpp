// The .npz container: libzip reads and writes the zip archive, and each member is a
// .npy file handed to nn/npy. Internal helpers throw tg::Error with a bare message;
// the entry points prefix it with the file and member, so every message says where
// the fault is.
#include "nn/npz.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <zip.h>

#include "autograd/error.hpp"

namespace tg {
namespace {

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
  void operator()(zip_file_t* f) const { zip_fclose(f); }
  void operator()(zip_source_t* s) const { zip_source_free(s); }
};
template <class T>
using ZipPtr = std::unique_ptr<T, ZipCloser>;

std::string zip_message(zip_error_t* error) {
  std::string msg = zip_error_strerror(error);
  zip_error_fini(error);
  return msg;
}

NpyArray read_member(zip_t* archive, const zip_stat_t& st) {
  ZipPtr<zip_file_t> file(zip_fopen_index(archive, st.index, 0));
  if (!file) throw Error(fmt::format("cannot open: {}", zip_strerror(archive)));
  const ReadSome read = [&](std::byte* out, std::size_t n) {
    const zip_int64_t got = zip_fread(file.get(), out, n);
    if (got < 0) throw Error(zip_file_strerror(file.get()));
    return std::size_t(got);
  };
  return read_npy(read, st.size);
}

// Why bytes starting with `head` are not a zip archive, when it can be told: the commonest
// accidents are an empty file, a Git LFS pointer left by a clone without LFS, and a copy
// cut short (a zip's directory is at its end, so a truncated one has none).
std::string not_zip_hint(std::string_view head) {
  if (head.empty()) return " (the file is empty)";
  if (head.starts_with("version https://git-lfs")) return " (a Git LFS pointer, not the data: run git lfs pull)";
  if (head.starts_with("PK")) return " (a zip without its directory: truncated?)";
  return " (not an .npz file)";
}

// One entry of the central directory, as declared: nothing of it read yet.
struct Entry {
  std::string key, where;  // where: "<file>: member \"<key>.npy\"", for messages
  zip_stat_t stat;
};

// Every entry's name and declared size, checked against `limits` (when given) before
// any member is inflated: Note [Bounded .npz reading].
std::vector<Entry> list_entries(zip_t* archive, const std::string& name, const NpzLimits* limits) {
  std::vector<Entry> entries;
  const zip_int64_t count = zip_get_num_entries(archive, 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    Entry e;
    zip_stat_init(&e.stat);
    if (zip_stat_index(archive, zip_uint64_t(i), 0, &e.stat) != 0 || !(e.stat.valid & ZIP_STAT_NAME) ||
        !(e.stat.valid & ZIP_STAT_SIZE))
      throw Error(fmt::format("{}: entry {}: {}", name, i + 1, zip_strerror(archive)));
    const std::string member = e.stat.name;
    e.where = fmt::format("{}: member {}", name, printable(member));
    if (member.size() <= 4 || !member.ends_with(".npy"))
      throw Error(e.where + ": not a .npy member (an .npz holds only <key>.npy files)");
    e.key = member.substr(0, member.size() - 4);
    for (const Entry& seen : entries)
      if (seen.key == e.key) throw Error(e.where + ": duplicate key " + printable(e.key));
    if (limits) {
      const auto it = limits->max_member_bytes.find(e.key);
      if (it == limits->max_member_bytes.end())
        throw Error(fmt::format("{}: unexpected key {} ({})", name, printable(e.key), limits->unexpected_note));
      if (e.stat.size > it->second)
        throw Error(fmt::format("{}: declares {} bytes, more than its array can take ({} bytes): a damaged file",
                                e.where, e.stat.size, it->second));
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

// Takes ownership of `source` whatever happens. `head`: the first bytes, for messages.
NpzContents read_zip(zip_source_t* source, const std::string& name, std::string_view head, const NpzLimits* limits) {
  ZipPtr<zip_source_t> owned(source);
  zip_error_t error;
  zip_error_init(&error);
  ZipPtr<zip_t> archive(zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error));
  // ZIP_CHECKCONS refuses duplicate names without naming them, after its consistency
  // checks have passed: reopen without it so list_entries names the duplicate.
  if (!archive && zip_error_code_zip(&error) == ZIP_ER_EXISTS) {
    zip_error_fini(&error);
    zip_error_init(&error);
    archive.reset(zip_open_from_source(source, ZIP_RDONLY, &error));
  }
  if (!archive) {
    const std::string hint = zip_error_code_zip(&error) == ZIP_ER_NOZIP ? not_zip_hint(head) : "";
    throw Error(fmt::format("{}: cannot open: {}{}", name, zip_message(&error), hint));
  }
  owned.release();  // the archive frees it now
  zip_error_fini(&error);

  NpzContents out;
  for (const Entry& e : list_entries(archive.get(), name, limits)) {
    try {
      out.emplace(e.key, read_member(archive.get(), e.stat));
    } catch (const Error& err) {
      throw Error(fmt::format("{}: {}", e.where, err.what()));
    }
  }
  return out;
}

// The largest archive that can hold members within `limits`: each member's largest
// size (deflate grows incompressible data by well under 0.1%), its name twice (local
// header and central directory) and its records (30 + 46 bytes, a 24-byte data
// descriptor, zip64 extras: 1 KiB is generous), then the end records and the longest
// comment a zip can carry.
std::uint64_t max_archive_bytes(const NpzLimits& limits) {
  std::uint64_t total = 22 + 56 + 20 + 65'535;
  for (const auto& [key, bytes] : limits.max_member_bytes) total += bytes + bytes / 1000 + 2 * (key.size() + 4) + 1024;
  return total;
}

void check_archive_size(std::uint64_t size, const std::string& name, const NpzLimits& limits) {
  const std::uint64_t most = max_archive_bytes(limits);
  if (size > most)
    throw Error(fmt::format("{}: {} bytes, more than an archive of the expected arrays can be ({} bytes)", name,
                            size, most));
}

std::vector<std::byte> source_bytes(zip_source_t* source) {
  if (zip_source_open(source) != 0) throw Error(zip_error_strerror(zip_source_error(source)));
  std::vector<std::byte> out;
  zip_int64_t size = -1;
  if (zip_source_seek(source, 0, SEEK_END) == 0 && (size = zip_source_tell(source)) >= 0 &&
      zip_source_seek(source, 0, SEEK_SET) == 0) {
    out.resize(std::size_t(size));
    if (zip_source_read(source, out.data(), out.size()) != size) size = -1;
  }
  zip_source_close(source);
  if (size < 0) throw Error(zip_error_strerror(zip_source_error(source)));
  return out;
}

// Builds the archive in memory, so the file itself is written in one atomic step.
std::vector<std::byte> zip_members(const std::vector<std::pair<std::string, std::vector<std::byte>>>& members) {
  // libzip writes nothing for an archive without entries; numpy writes this 22-byte
  // end-of-central-directory record alone.
  if (members.empty()) {
    std::vector<std::byte> eocd(22, std::byte{0});
    std::memcpy(eocd.data(), "PK\x05\x06", 4);
    return eocd;
  }
  zip_error_t error;
  zip_error_init(&error);
  ZipPtr<zip_source_t> buffer(zip_source_buffer_create(nullptr, 0, 0, &error));
  if (!buffer) throw Error(zip_message(&error));
  zip_source_keep(buffer.get());  // it must outlive zip_close, which writes into it
  ZipPtr<zip_t> archive(zip_open_from_source(buffer.get(), ZIP_TRUNCATE, &error));
  if (!archive) {
    zip_source_free(buffer.get());  // undo the keep: the archive did not take it
    throw Error(zip_message(&error));
  }
  zip_error_fini(&error);
  for (const auto& [member, bytes] : members) {
    zip_source_t* data = zip_source_buffer(archive.get(), bytes.data(), bytes.size(), 0);
    const zip_int64_t index = data ? zip_file_add(archive.get(), member.c_str(), data, ZIP_FL_ENC_UTF_8) : -1;
    if (index < 0) {
      if (data) zip_source_free(data);
      throw Error(fmt::format("member {}: {}", printable(member), zip_strerror(archive.get())));
    }
    // Stored, and a fixed time (2000-01-01) so the same arrays give the same bytes.
    if (zip_set_file_compression(archive.get(), zip_uint64_t(index), ZIP_CM_STORE, 0) != 0 ||
        zip_file_set_mtime(archive.get(), zip_uint64_t(index), 946684800, 0) != 0)
      throw Error(zip_strerror(archive.get()));
  }
  if (zip_close(archive.get()) != 0) throw Error(zip_strerror(archive.get()));
  archive.release();  // zip_close freed it
  return source_bytes(buffer.get());
}

}  // namespace

namespace {

NpzContents read_npz_file(const std::string& path, const NpzLimits* limits) {
  if (limits) {
    std::error_code ec;
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (!ec) check_archive_size(size, path, *limits);  // else libzip names the problem below
  }
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_file_create(path.c_str(), 0, -1, &error);
  if (!source) throw Error(fmt::format("{}: cannot open: {}", path, zip_message(&error)));
  char head[32];
  std::ifstream in(path, std::ios::binary);
  in.read(head, sizeof head);
  return read_zip(source, path, std::string_view(head, static_cast<std::size_t>(in.gcount())), limits);
}

NpzContents read_npz_memory(std::span<const std::byte> bytes, const std::string& name, const NpzLimits* limits) {
  if (limits) check_archive_size(bytes.size(), name, *limits);
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  if (!source) throw Error(fmt::format("{}: {}", name, zip_message(&error)));
  const std::string_view head(reinterpret_cast<const char*>(bytes.data()), std::min<std::size_t>(bytes.size(), 32));
  return read_zip(source, name, head, limits);
}

}  // namespace

NpzContents read_npz(const std::string& path) { return read_npz_file(path, nullptr); }

NpzContents read_npz(const std::string& path, const NpzLimits& limits) { return read_npz_file(path, &limits); }

NpzContents read_npz_bytes(std::span<const std::byte> bytes, const std::string& name) {
  return read_npz_memory(bytes, name, nullptr);
}

NpzContents read_npz_bytes(std::span<const std::byte> bytes, const std::string& name, const NpzLimits& limits) {
  return read_npz_memory(bytes, name, &limits);
}

NpzLimits float_array_limits(const std::map<std::string, Shape>& shapes) {
  NpzLimits limits;
  for (const auto& [key, shape] : shapes) {
    std::uint64_t elements = 1;
    for (std::size_t dim : shape) elements *= dim;  // a model's shapes: no overflow (Note [Resource limits])
    limits.max_member_bytes[key] = max_npy_bytes(elements, sizeof(double));
  }
  return limits;
}

void write_npz(const std::string& path, const NpzContents& arrays) {
  std::vector<std::pair<std::string, std::vector<std::byte>>> members;
  std::vector<std::byte> bytes;
  try {
    for (const auto& [key, array] : arrays) {
      if (key.empty()) throw Error("an array has an empty key");
      try {
        members.emplace_back(key + ".npy", serialize_npy(array));
      } catch (const Error& e) {
        throw Error(fmt::format("array {}: {}", printable(key), e.what()));
      }
    }
    bytes = zip_members(members);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", path, e.what()));
  }
  write_file_atomically(path, bytes);
}

}  // namespace tg
