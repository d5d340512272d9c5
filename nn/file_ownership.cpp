// Ownership of the files tapegrad writes (file_ownership.hpp): SHA-256 through OpenSSL's
// EVP interface, the SHA256SUMS manifest (the format `sha256sum -c` checks), the check
// that a directory holds nothing but what we wrote, and self-sealed single files.
#include "nn/file_ownership.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "autograd/error.hpp"
#include "nn/atomic_file.hpp"

namespace tg {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxManifestBytes = 64 * 1024;  // a few lines; more is not ours

// One SHA-256 computation, fed in pieces.
class Sha256 {
 public:
  Sha256() : context_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (!context_ || EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr) != 1)
      throw Error("SHA-256: OpenSSL could not start a digest");
  }
  void update(const void* data, std::size_t size) {
    if (EVP_DigestUpdate(context_.get(), data, size) != 1) throw Error("SHA-256: OpenSSL digest update failed");
  }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(context_.get(), digest, &size) != 1) throw Error("SHA-256: OpenSSL digest failed");
    std::string out;
    for (unsigned int i = 0; i < size; ++i) out += fmt::format("{:02x}", digest[i]);
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> context_;
};

// An open regular file: O_NOFOLLOW (a symbolic link is not followed) and O_NONBLOCK (a
// FIFO planted under the name does not block the open), then fstat proves it regular.
struct RegularFile {
  int fd = -1;
  off_t size = 0;
  explicit RegularFile(const fs::path& path) {
    fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) throw Error(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      throw Error(fmt::format("{}: is {}, not a regular file", path.string(), file_kind(path.string())));
    }
    size = st.st_size;
  }
  ~RegularFile() { ::close(fd); }
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;

  // Calls f(chunk, size) for each chunk read, to the end of the file.
  template <class F>
  void read(const fs::path& path, F&& f) const {
    char buffer[1 << 16];
    for (;;) {
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Error(fmt::format("{}: read failed: {}", path.string(), std::strerror(errno)));
      if (n == 0) return;
      f(buffer, std::size_t(n));
    }
  }
};

// A regular file's whole text, or nullopt when it is larger than max_bytes.
std::optional<std::string> read_small_file(const fs::path& path, std::size_t max_bytes) {
  const RegularFile file(path);
  if (std::uint64_t(file.size) > max_bytes) return std::nullopt;
  std::string text;
  file.read(path, [&](const char* data, std::size_t n) { text.append(data, n); });
  if (text.size() > max_bytes) return std::nullopt;
  return text;
}

bool is_hex_digest(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// dir/SHA256SUMS as name → hash; nullopt when there is none. Throws naming a line that is
// not `<hash>  <name>` (sha256sum's text mode; " *" binary mode is read too).
std::optional<std::map<std::string, std::string>> read_manifest(const fs::path& dir) {
  const fs::path path = dir / kManifestName;
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) return std::nullopt;
  const std::optional<std::string> text = read_small_file(path, kMaxManifestBytes);
  if (!text) throw Error(fmt::format("{}: larger than any manifest tapegrad writes", path.string()));
  std::map<std::string, std::string> out;
  std::size_t number = 0;
  for (std::size_t at = 0; at < text->size();) {
    const std::size_t end = std::min(text->find('\n', at), text->size());
    const std::string_view line = std::string_view(*text).substr(at, end - at);
    at = end + 1;
    ++number;
    if (line.size() < 67 || !is_hex_digest(line.substr(0, 64)) || line[64] != ' ' ||
        (line[65] != ' ' && line[65] != '*'))
      throw Error(fmt::format("{}:{}: not a line of the form \"<sha256>  <file name>\"", path.string(), number));
    out[std::string(line.substr(66))] = std::string(line.substr(0, 64));
  }
  return out;
}

std::string layout_listing(const OwnedLayout& layout) {
  std::vector<std::string> names = layout.files;
  // A numbered run of directories (member-1/ … member-16/) is shown by its ends.
  if (layout.directories.size() > 3)
    names.push_back(layout.directories.front() + "/ … " + layout.directories.back() + "/");
  else
    for (const std::string& d : layout.directories) names.push_back(d + "/");
  names.emplace_back(kManifestName);
  return fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

std::string sha256_hex(std::string_view bytes) {
  Sha256 sha;
  sha.update(bytes.data(), bytes.size());
  return sha.hex();
}

std::string sha256_of_file(const fs::path& file) {
  const RegularFile open(file);
  Sha256 sha;
  open.read(file, [&](const char* data, std::size_t n) { sha.update(data, n); });
  return sha.hex();
}

void check_owned_directory(const fs::path& dir, const OwnedLayout& layout, std::string_view advice) {
  const std::string where = dir.string();
  const std::string kind = file_kind(where);
  if (kind.empty()) return;  // absent: nothing to lose
  if (kind != "a directory")
    throw Error(fmt::format("{}: is {}, not a directory; refusing to write {} there ({})", where, kind, layout.what,
                            advice));
  const auto refuse = [&](const std::string& name, std::string_view why) {
    throw Error(fmt::format("{}: {}; refusing to touch {} ({})", (dir / name).string(), why, where, advice));
  };
  std::error_code ec;
  std::vector<std::string> entries;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    entries.push_back(it->path().filename().string());
  if (ec) throw Error(fmt::format("{}: cannot list it: {}", where, ec.message()));
  std::sort(entries.begin(), entries.end());  // the same file named first every time

  // Names first (cheap), then kinds, then hashes.
  const auto is_one_of = [](const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  for (const std::string& name : entries)
    if (name != kManifestName && !is_one_of(layout.files, name) && !is_one_of(layout.directories, name))
      refuse(name, fmt::format("not written by tapegrad ({} holds only {})", layout.what, layout_listing(layout)));
  for (const std::string& name : entries) {
    const std::string entry_kind = file_kind((dir / name).string());
    const bool want_directory = is_one_of(layout.directories, name);
    if (want_directory ? entry_kind != "a directory" : entry_kind != "a regular file")
      refuse(name, fmt::format("is {}, which tapegrad never writes there", entry_kind));
  }
  std::optional<std::map<std::string, std::string>> manifest;
  try {
    manifest = read_manifest(dir);
  } catch (const Error& e) {
    throw Error(fmt::format("{}; refusing to touch {} ({})", e.what(), where, advice));
  }
  for (const std::string& name : entries) {
    if (!is_one_of(layout.files, name)) continue;
    if (!manifest)
      refuse(name, fmt::format("no {} beside it proves tapegrad wrote it (a look-alike, or written by an older "
                               "version)", kManifestName));
    const auto listed = manifest->find(name);
    if (listed == manifest->end()) refuse(name, fmt::format("not listed in {}", kManifestName));
    if (sha256_of_file(dir / name) != listed->second)
      refuse(name, fmt::format("changed since tapegrad wrote it (its SHA-256 is not the one in {})", kManifestName));
  }
}

void record_owned_files(const fs::path& dir, const std::vector<std::string>& names) {
  std::map<std::string, std::string> manifest = read_manifest(dir).value_or(std::map<std::string, std::string>{});
  for (const std::string& name : names) manifest[name] = sha256_of_file(dir / name);
  std::string text;
  for (const auto& [name, hash] : manifest) text += fmt::format("{}  {}\n", hash, name);
  write_file_atomically((dir / kManifestName).string(), text);
}

bool remove_owned_directory(const fs::path& dir, const OwnedLayout& layout) {
  for (const std::string& name : layout.files) ::unlink((dir / name).c_str());
  ::unlink((dir / kManifestName).c_str());
  return ::rmdir(dir.c_str()) == 0;
}

void check_can_create(const fs::path& path) {
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  if (ec) throw Error(fmt::format("{}: {}", path.string(), ec.message()));
  fs::path ancestor = absolute.parent_path();
  while (!fs::exists(fs::symlink_status(ancestor, ec)) && ancestor.has_relative_path())
    ancestor = ancestor.parent_path();
  if (!fs::is_directory(ancestor, ec))  // follows a symbolic link: a linked directory is fine
    throw Error(fmt::format("{}: {} is {}, not a directory", path.string(), ancestor.string(),
                            file_kind(ancestor.string())));
  if (::faccessat(AT_FDCWD, ancestor.c_str(), W_OK | X_OK, AT_EACCESS) != 0)
    throw Error(fmt::format("{}: cannot write in {}: {}", path.string(), ancestor.string(), std::strerror(errno)));
}

std::string seal_text(std::string text, std::string_view open, std::string_view close) {
  if (!text.empty() && text.back() != '\n') text += '\n';
  const std::string hash = sha256_hex(text);
  return text + std::string(open) + hash + std::string(close) + "\n";
}

bool has_valid_seal(const fs::path& file, std::string_view open, std::string_view close, std::size_t max_bytes) {
  std::optional<std::string> text;
  try {
    text = read_small_file(file, max_bytes);
  } catch (const Error&) {
    return false;
  }
  if (!text || text->size() < 2 || text->back() != '\n') return false;
  const std::size_t start = text->rfind('\n', text->size() - 2) + 1;  // npos + 1 == 0: a one-line file
  const std::string_view line = std::string_view(*text).substr(start, text->size() - 1 - start);
  if (!line.starts_with(open) || !line.ends_with(close)) return false;
  const std::string_view hash = line.substr(open.size(), line.size() - open.size() - close.size());
  return is_hex_digest(hash) && hash == sha256_hex(std::string_view(*text).substr(0, start));
}

}  // namespace tg
