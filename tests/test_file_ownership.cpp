// Tests for nn/atomic_file and nn/file_ownership: the one writer refuses every
// destination that is not absent or a regular file (and leaves it as it was), writes
// through a fresh temporary, keeps modes; ownership is proven by SHA256SUMS (a manifest
// `sha256sum -c` reads) or a self-seal, and everything else is refused naming the file;
// check_checkpoint_destination puts both together for a checkpoint directory.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "helpers.hpp"
#include "models/data/csv.hpp"
#include "models/checkpoint/sentiment_checkpoint.hpp"
#include "nn/atomic_file.hpp"
#include "nn/file_ownership.hpp"

namespace fs = std::filesystem;
using tg::test::error_of;
using tg::test::listing;
using tg::test::ScratchDir;

namespace {

const tg::OwnedLayout kLayout{"a test folder", {"a.txt", "b.txt"}, {"sub"}};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A folder written the way tapegrad writes one: a.txt and b.txt, then their manifest.
void write_owned(const fs::path& dir) {
  fs::create_directories(dir);
  tg::write_file_atomically((dir / "a.txt").string(), std::string_view("alpha\n"));
  tg::write_file_atomically((dir / "b.txt").string(), std::string_view("beta\n"));
  tg::record_owned_files(dir, {"a.txt", "b.txt"});
}

}  // namespace

TEST_CASE("sha256: the FIPS 180-2 examples, and a file hashes as its bytes") {
  CHECK(tg::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(tg::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const ScratchDir scratch("ownership");
  tg::write_file(scratch.dir / "f", "abc");
  CHECK(tg::sha256_of_file(scratch.dir / "f") == tg::sha256_hex("abc"));
}

TEST_CASE("atomic writer: writes, replaces a regular file keeping its mode, leaves no temporary") {
  const ScratchDir scratch("ownership");
  const std::string path = scratch / "out.txt";
  tg::write_file_atomically(path, std::string_view("one"));
  CHECK(tg::read_file(path) == "one");
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  tg::write_file_atomically(path, std::string_view("two"));
  CHECK(tg::read_file(path) == "two");
  CHECK(fs::status(path).permissions() == (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));
  CHECK(listing(scratch.dir) == std::vector<std::string>{"out.txt"});
}

TEST_CASE("atomic writer: a symbolic link, FIFO, directory or device is refused and left as it was") {
  const ScratchDir scratch("ownership");
  tg::write_file(scratch.dir / "victim.txt", "the user's");
  fs::create_symlink("victim.txt", scratch.dir / "link");
  fs::create_symlink("absent", scratch.dir / "dangling");
  fs::create_directory(scratch.dir / "dir");
  REQUIRE(::mkfifo((scratch.dir / "fifo").c_str(), 0644) == 0);
  const auto refused = [&](const char* name, const char* kind) {
    CAPTURE(name);
    const std::string path = scratch / name;
    const std::string message = fmt::format("{}: is {}, not a regular file; refusing to replace it", path, kind);
    CHECK(contains(error_of([&] { tg::check_file_destination(path); }), message));
    CHECK(contains(error_of([&] { tg::write_file_atomically(path, std::string_view("new")); }), message));
    CHECK(tg::file_kind(path) == kind);
  };
  refused("link", "a symbolic link");
  refused("dangling", "a symbolic link");  // a write would have created "absent" through it
  refused("dir", "a directory");
  refused("fifo", "a FIFO");  // never opened: a FIFO without a reader would block
  // A device node made here, with /dev/null's numbers (an old binary replaced /dev/null).
  if (::mknod((scratch.dir / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) refused("null", "a character device");
  else MESSAGE("device-node case skipped: mknod is not permitted here");
  CHECK(tg::read_file(scratch.dir / "victim.txt") == "the user's");
  CHECK_FALSE(fs::exists(scratch.dir / "absent"));
  for (const std::string& name : listing(scratch.dir)) CHECK_FALSE(contains(name, ".tmp-"));
}

TEST_CASE("atomic writer: names are checked, and the temporary is a fresh file, never a planted one") {
  const ScratchDir scratch("ownership");
  CHECK(error_of([] { tg::check_file_destination(""); }) == "the output file name is empty");
  CHECK(contains(error_of([&] { tg::check_file_destination(scratch / "missing/out.txt"); }),
                 "out.txt: its directory " + (scratch / "missing") + " does not exist"));
  // The old writer's temporary was a predictable name; a link planted there was written
  // through. mkostemp picks a fresh name with O_EXCL, so files beside the target stay.
  for (const std::string& planted : {".out.txt.tmp-1", "out.txt.tmp-XXXXXX", "out.txt.tmp"})
    fs::create_symlink("victim.txt", scratch.dir / planted);
  tg::write_file(scratch.dir / "victim.txt", "the user's");
  tg::write_file_atomically(scratch / "out.txt", std::string_view("report"));
  CHECK(tg::read_file(scratch.dir / "victim.txt") == "the user's");
  CHECK(listing(scratch.dir).size() == 5);
  if (::geteuid() != 0) {  // root writes in a read-only directory
    fs::create_directory(scratch.dir / "ro");
    fs::permissions(scratch.dir / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    CHECK(contains(error_of([&] { tg::check_file_destination(scratch / "ro/out.txt"); }), "cannot write in its directory"));
    fs::permissions(scratch.dir / "ro", fs::perms::owner_all);
  }
}

TEST_CASE("ownership: a folder is ours when it holds only its layout, each file matching SHA256SUMS") {
  const ScratchDir scratch("ownership");
  const fs::path dir = scratch.dir / "owned";
  const auto error = [&] { return error_of([&] { tg::check_owned_directory(dir, kLayout, "choose another"); }); };
  CHECK(error() == "");  // absent
  fs::create_directory(dir);
  CHECK(error() == "");  // empty
  write_owned(dir);
  fs::create_directory(dir / "sub");
  CHECK(error() == "");
  // The manifest is what `sha256sum -c` checks.
  CHECK(tg::read_file(dir / "SHA256SUMS") ==
        fmt::format("{}  a.txt\n{}  b.txt\n", tg::sha256_hex("alpha\n"), tg::sha256_hex("beta\n")));
  if (std::system("command -v sha256sum > /dev/null 2>&1") == 0)
    CHECK(std::system(fmt::format("cd '{}' && sha256sum --quiet -c SHA256SUMS", dir.string()).c_str()) == 0);

  SUBCASE("a foreign file is named") {
    tg::write_file(dir / "notes.txt", "mine");
    CHECK(error() == fmt::format("{}: not written by tapegrad (a test folder holds only a.txt, b.txt, sub/, "
                                 "SHA256SUMS); refusing to touch {} (choose another)",
                                 (dir / "notes.txt").string(), dir.string()));
  }
  SUBCASE("a foreign directory is named") {
    fs::create_directory(dir / "runs");
    CHECK(contains(error(), (dir / "runs").string() + ": not written by tapegrad"));
  }
  SUBCASE("a file changed since") {
    tg::write_file(dir / "b.txt", "beta, edited\n");
    CHECK(contains(error(), (dir / "b.txt").string() + ": changed since tapegrad wrote it"));
  }
  SUBCASE("a look-alike: the right names, no manifest") {
    fs::remove(dir / "SHA256SUMS");
    CHECK(contains(error(), (dir / "a.txt").string() + ": no SHA256SUMS beside it proves tapegrad wrote it"));
  }
  SUBCASE("a file the manifest does not list") {
    tg::write_file(dir / "SHA256SUMS", fmt::format("{}  a.txt\n", tg::sha256_hex("alpha\n")));
    CHECK(contains(error(), (dir / "b.txt").string() + ": not listed in SHA256SUMS"));
  }
  SUBCASE("a garbled manifest") {
    tg::write_file(dir / "SHA256SUMS", "not hashes\n");
    CHECK(contains(error(), (dir / "SHA256SUMS").string() + ":1: not a line of the form"));
  }
  SUBCASE("a layout file that is a symbolic link, FIFO or directory") {
    fs::remove(dir / "a.txt");
    fs::create_symlink("b.txt", dir / "a.txt");
    CHECK(contains(error(), (dir / "a.txt").string() + ": is a symbolic link, which tapegrad never writes there"));
    fs::remove(dir / "a.txt");
    REQUIRE(::mkfifo((dir / "a.txt").c_str(), 0644) == 0);
    CHECK(contains(error(), (dir / "a.txt").string() + ": is a FIFO"));  // not opened to hash: no hang
    fs::remove(dir / "sub");
    tg::write_file(dir / "sub", "a file where a folder goes");
    fs::remove(dir / "a.txt");
    CHECK(contains(error(), (dir / "sub").string() + ": is a regular file, which tapegrad never writes there"));
  }
  SUBCASE("the folder itself a symbolic link or a file") {
    fs::create_directory_symlink("owned", scratch.dir / "link");
    CHECK(contains(error_of([&] { tg::check_owned_directory(scratch.dir / "link", kLayout, "x"); }),
                   "link: is a symbolic link, not a directory"));
    tg::write_file(scratch.dir / "file", "");
    CHECK(contains(error_of([&] { tg::check_owned_directory(scratch.dir / "file", kLayout, "x"); }),
                   "file: is a regular file, not a directory"));
  }
}

TEST_CASE("ownership: removing an owned folder deletes only its layout's files") {
  const ScratchDir scratch("ownership");
  const fs::path dir = scratch.dir / "owned";
  write_owned(dir);
  CHECK(tg::remove_owned_directory(dir, kLayout));
  CHECK_FALSE(fs::exists(dir));
  write_owned(dir);
  tg::write_file(dir / "appeared.txt", "mine");  // arrived after the check
  CHECK_FALSE(tg::remove_owned_directory(dir, kLayout));
  CHECK(listing(dir) == std::vector<std::string>{"appeared.txt"});
}

TEST_CASE("ownership: a sealed file proves itself until it is changed") {
  const ScratchDir scratch("ownership");
  const fs::path file = scratch.dir / "page.html";
  const std::string sealed = tg::seal_text("<p>report</p>", "<!-- sha256 ", " -->");
  CHECK(sealed == "<p>report</p>\n<!-- sha256 " + tg::sha256_hex("<p>report</p>\n") + " -->\n");
  tg::write_file(file, sealed);
  CHECK(tg::has_valid_seal(file, "<!-- sha256 ", " -->", 1 << 20));
  CHECK_FALSE(tg::has_valid_seal(file, "<!-- sha256 ", " -->", 10));  // larger than any such file
  tg::write_file(file, "<p>edited</p>\n" + sealed.substr(sealed.find("<!--")));
  CHECK_FALSE(tg::has_valid_seal(file, "<!-- sha256 ", " -->", 1 << 20));
  tg::write_file(file, "<p>no seal</p>\n");
  CHECK_FALSE(tg::has_valid_seal(file, "<!-- sha256 ", " -->", 1 << 20));
  REQUIRE(::mkfifo((scratch.dir / "fifo").c_str(), 0644) == 0);
  CHECK_FALSE(tg::has_valid_seal(scratch.dir / "fifo", "<!-- sha256 ", " -->", 1 << 20));  // and no hang
}

TEST_CASE("checkpoint destination: the same check before training and at each save") {
  const ScratchDir scratch("ownership");
  const auto error = [](const fs::path& dir) { return error_of([&] { tg::check_checkpoint_destination(dir); }); };
  CHECK(error(scratch.dir / "new/deeper/model") == "");  // parents are created
  CHECK(error("") == "the checkpoint directory name is empty");
  for (const fs::path& here : {fs::path("."), fs::path("./"), fs::path(".."), fs::current_path(), fs::path("/")})
    CHECK_MESSAGE(contains(error(here), here.string() + ": is the current directory or one above it"), here);
  tg::write_file(scratch.dir / "file", "mine");
  CHECK(contains(error(scratch.dir / "file/model"), "is a regular file, not a directory"));
  // A folder holding a config.json with the checkpoint's format string is no checkpoint.
  fs::create_directories(scratch.dir / "app");
  tg::write_file(scratch.dir / "app/config.json", R"({"format": "tapegrad sentiment checkpoint"})");
  CHECK(contains(error(scratch.dir / "app"), "app/config.json: no SHA256SUMS beside it proves tapegrad wrote it"));
  CHECK(listing(scratch.dir / "app") == std::vector<std::string>{"config.json"});
}
