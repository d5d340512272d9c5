// write_file_atomically on POSIX: mkstemp beside the target, write, match the old
// file's mode, fsync, rename, then fsync the directory so the rename is durable too.
#include "nn/atomic_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "autograd/error.hpp"

namespace tg {
namespace {

// The temporary file of write_file_atomically: closed, and removed unless renamed.
struct TempFile {
  std::string name;  // cleared once renamed into place
  int fd = -1;
  ~TempFile() {
    if (fd >= 0) ::close(fd);
    if (!name.empty()) ::unlink(name.c_str());
  }
};

// Makes the rename itself durable. Best effort: the new file is already in place, so
// a failure here must not report the write as failed.
void sync_directory(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomically(const std::string& path, std::span<const std::byte> bytes) {
  std::string name = path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(name.data());
  if (fd < 0)
    throw Error(fmt::format("{}: cannot create a temporary file beside it: {}", path, std::strerror(errno)));
  TempFile temp{name, fd};
  const auto check = [&](bool ok, std::string_view step) {
    if (ok) return;
    const int err = errno;
    throw Error(fmt::format("{}: {} {} failed: {}", path, step, temp.name, std::strerror(err)));
  };
  for (std::size_t at = 0; at < bytes.size();) {
    const ssize_t n = ::write(temp.fd, bytes.data() + at, bytes.size() - at);
    if (n < 0 && errno == EINTR) continue;
    check(n > 0, "writing");
    at += std::size_t(n);
  }
  // mkstemp makes the file 0600: give it the mode of the file it replaces, or the one
  // a plain open() would give. umask can only be read by setting it.
  struct stat old;
  const mode_t mask = ::umask(0);
  ::umask(mask);
  const mode_t mode = ::stat(path.c_str(), &old) == 0 ? (old.st_mode & 07777) : (0666 & ~mask);
  check(::fchmod(temp.fd, mode) == 0, "setting the mode of");
  check(::fsync(temp.fd) == 0, "syncing");
  check(::close(std::exchange(temp.fd, -1)) == 0, "closing");
  check(::rename(temp.name.c_str(), path.c_str()) == 0, "renaming");
  temp.name.clear();
  sync_directory(path);
}

}  // namespace tg
