// write_file_atomically on POSIX: refuse a destination that is not a regular file,
// mkostemp beside it (O_EXCL: a fresh file, never a planted one or a symlink's target),
// write, match the old file's mode, fsync, check the destination again, rename, then
// fsync the directory so the rename is durable too.
#include "nn/atomic_file.hpp"

#include <cerrno>
#include <cstdlib>
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

std::string directory_of(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

std::string kind_of(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// The destination check, shared by check_file_destination and the writer's last look
// before its rename: absent or a regular file (lstat: a symbolic link is itself refused).
void check_replaceable(const std::string& path) {
  if (path.empty()) throw Error("the output file name is empty");
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw Error(fmt::format("{}: cannot check it: {}", path, std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode))
    throw Error(fmt::format("{}: is {}, not a regular file; refusing to replace it (choose another file name)", path,
                            kind_of(st.st_mode)));
}

}  // namespace

std::string file_kind(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return "";
  return kind_of(st.st_mode);
}

bool sync_directory(const std::string& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

void check_file_destination(const std::string& path) {
  check_replaceable(path);
  const std::string dir = directory_of(path);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Error(fmt::format("{}: its directory {} does not exist", path, dir));
  // AT_EACCESS: the effective user's rights, the ones open() will use. EROFS says "read-only".
  if (::faccessat(AT_FDCWD, dir.c_str(), W_OK | X_OK, AT_EACCESS) != 0)
    throw Error(fmt::format("{}: cannot write in its directory {}: {}", path, dir, std::strerror(errno)));
}

void write_file_atomically(const std::string& path, std::span<const std::byte> bytes) {
  check_replaceable(path);
  std::string name = path + ".tmp-XXXXXX";
  const int fd = ::mkostemp(name.data(), O_CLOEXEC);  // O_CREAT | O_EXCL, mode 0600
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
  // mkostemp makes the file 0600: give it the mode of the file it replaces, or the one
  // a plain open() would give. umask can only be read by setting it.
  struct stat old;
  const mode_t mask = ::umask(0);
  ::umask(mask);
  const bool replacing = ::lstat(path.c_str(), &old) == 0 && S_ISREG(old.st_mode);
  check(::fchmod(temp.fd, replacing ? (old.st_mode & 07777) : (0666 & ~mask)) == 0, "setting the mode of");
  check(::fsync(temp.fd) == 0, "syncing");
  check(::close(std::exchange(temp.fd, -1)) == 0, "closing");
  // Again, just before the rename: what was a regular file when we began may not be now.
  // (rename() never follows a symbolic link at `path`: it would replace the link itself.)
  check_replaceable(path);
  check(::rename(temp.name.c_str(), path.c_str()) == 0, "renaming");
  temp.name.clear();
  sync_directory(directory_of(path));  // the new file is in place: a failure here is no failure to write
}

void write_file_atomically(const std::string& path, std::string_view text) {
  write_file_atomically(path, std::as_bytes(std::span(text.data(), text.size())));
}

}  // namespace tg
