// The bad-input corpus (tests/data/bad/, see its README.md) run through the `sentiment`
// program as a user would: every malformed CSV through train, evaluate and report, every
// damaged checkpoint through evaluate, predict and report. Each run must exit with status
// 1 and print exactly one `sentiment: error:` line that names the file (and line or
// parameter) and holds the message its manifest expects, with nothing on stdout and
// nothing written: no checkpoint, report or stray temporary. Also: a UTF-8 BOM is
// accepted, 10 MB single-line files are refused in one short line, and absurd sizes are
// refused before anything is allocated (Note [Resource limits], models/limits.hpp).
// Bad destinations (destinations/): folders where --out must not write, because a file
// there is not one tapegrad wrote; each is refused before any work, naming the file, and
// every file in it survives byte for byte (docs/reliability.md).
// Skipped when the binary is not built (TG_BUILD_TUTORIALS=OFF).
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bad_corpus.hpp"
#include "helpers.hpp"
#include "models/data/csv.hpp"

namespace fs = std::filesystem;
using tg::test::kBadCheckpointDir;
using tg::test::kBadCsvDir;
using tg::test::kGoodDir;

namespace {

const fs::path kBinary = TG_BINARY_DIR "/sentiment";
constexpr const char* kTiny = "--epochs 1 --hidden 4 --embedding 4 --batch-size 8";
constexpr std::size_t kShortLine = 400;  // beyond the paths it names, an error line says what, not the data

struct Result {
  int status = -1;
  std::string out, err;
};

std::string quoted(const fs::path& p) { return fmt::format("'{}'", p.string()); }

// Every file and directory under `dir`, relative to it, sorted.
std::vector<std::string> tree(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) names.push_back(fs::relative(entry, dir).string());
  std::sort(names.begin(), names.end());
  return names;
}

// A scratch directory holding a copy of the good data; runs the binary in it and checks
// that a refused run left the directory exactly as it found it.
struct Workdir : tg::test::ScratchDir {
  Workdir() : ScratchDir("bad-input") { fs::copy_file(kGoodDir / "tiny.csv", dir / "tiny.csv"); }

  Result run(const std::string& args) const {
    const std::string command =
        fmt::format("cd {} && {} {} > ../{}.out 2> ../{}.err", quoted(dir), quoted(kBinary), args,
                    dir.filename().string(), dir.filename().string());
    const int raw = std::system(command.c_str());
    const fs::path out = dir.parent_path() / (dir.filename().string() + ".out"),
                   err = dir.parent_path() / (dir.filename().string() + ".err");
    Result r{WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, tg::read_file(out), tg::read_file(err)};
    fs::remove(out);
    fs::remove(err);
    return r;
  }

  // `args` must fail with one error line holding each of `wanted`, and change nothing here.
  void check_refused(const std::string& args, const std::vector<std::string>& wanted) const {
    CAPTURE(args);
    const std::vector<std::string> before = tree(dir);
    const Result r = run(args);
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.out.empty(), r.out);
    CHECK_MESSAGE(r.err.rfind("sentiment: error: ", 0) == 0, r.err);
    CHECK_MESSAGE(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);
    CHECK(r.err.ends_with('\n'));
    std::size_t named = 0;
    for (const std::string& text : wanted) {
      CHECK_MESSAGE(r.err.find(text) != std::string::npos, "wanted: " << text << "\ngot: " << r.err);
      named += text.size();
    }
    CHECK_MESSAGE(r.err.size() <= named + kShortLine, r.err.substr(0, 1000));
    CHECK(tree(dir) == before);  // no checkpoint, report or temporary left behind
  }
};

bool binary_missing() {
  if (fs::exists(kBinary)) return false;
  MESSAGE("skipped: " << kBinary << " is not built (TG_BUILD_TUTORIALS=OFF?)");
  return true;
}

// Where a CSV is refused: by train (as training data), evaluate and report.
void check_csv_refused(const Workdir& work, const fs::path& csv, const std::string& message) {
  const std::string file = quoted(csv);
  work.check_refused(fmt::format("train --train {} --valid tiny.csv --out model {}", file, kTiny), {message});
  work.check_refused(fmt::format("evaluate --checkpoint {} --data {}", quoted(kGoodDir / "checkpoint"), file),
                     {message});
  work.check_refused(
      fmt::format("report --checkpoint {} --data {} --out report.html", quoted(kGoodDir / "checkpoint"), file),
      {message});
}

}  // namespace

TEST_CASE("bad input: the corpus holds at least 30 cases, each listed in its manifest with what it must say") {
  const auto csv = tg::test::read_manifest(kBadCsvDir, 1);
  const auto checkpoints = tg::test::read_manifest(kBadCheckpointDir, 2);
  CHECK(tg::test::corpus_on_disk(kBadCsvDir) == tg::test::corpus_listed(csv));
  CHECK(tg::test::corpus_on_disk(kBadCheckpointDir) == tg::test::corpus_listed(checkpoints));
  CHECK(csv.size() + checkpoints.size() >= 30);
  for (const auto& [name, fields] : checkpoints) {
    CAPTURE(name);
    CHECK(fs::is_directory(kBadCheckpointDir / name));
    const std::set<std::string> checkpoint_files = {"weights.npz", "vocab.txt", "config.json"};
    CHECK(checkpoint_files.count(fields[0]) == 1);  // the file at fault
    for (const std::string& file : tree(kBadCheckpointDir / name)) CHECK(checkpoint_files.count(file) == 1);
  }
}

TEST_CASE("bad input: the good checkpoint every damaged one is made from evaluates and predicts") {
  if (binary_missing()) return;
  const Workdir work;
  const std::string checkpoint = quoted(kGoodDir / "checkpoint");
  const Result evaluated = work.run("evaluate --json --data tiny.csv --checkpoint " + checkpoint);
  REQUIRE_MESSAGE(evaluated.status == 0, evaluated.err);
  CHECK(nlohmann::json::parse(evaluated.out)["count"] == 15);
  const Result predicted = work.run("predict --json --checkpoint " + checkpoint + " 'lost my bag'");
  REQUIRE_MESSAGE(predicted.status == 0, predicted.err);
  CHECK(nlohmann::json::parse(predicted.out)["tokens"].size() == 3);
}

TEST_CASE("bad input: every malformed CSV is one error line naming file and line, exit 1, nothing written") {
  if (binary_missing()) return;
  const Workdir work;
  for (const auto& [file, fields] : tg::test::read_manifest(kBadCsvDir, 1)) {
    CAPTURE(file);
    const fs::path path = kBadCsvDir / file;
    check_csv_refused(work, path, path.string() + fields[0] + "\n");
  }
}

TEST_CASE("bad input: every damaged checkpoint is one error line naming the file, exit 1, nothing written") {
  if (binary_missing()) return;
  const Workdir work;
  for (const auto& [name, fields] : tg::test::read_manifest(kBadCheckpointDir, 2)) {
    CAPTURE(name);
    const fs::path copy = work.dir / "ckpt";  // a copy: a run that wrote into it would show
    fs::remove_all(copy);
    fs::copy(kBadCheckpointDir / name, copy);
    const std::vector<std::string> wanted = {"ckpt/" + fields[0], fields[1]};
    work.check_refused("evaluate --checkpoint ckpt --data tiny.csv", wanted);
    work.check_refused("predict --checkpoint ckpt 'lost my bag'", wanted);
    work.check_refused("report --checkpoint ckpt --data tiny.csv --out report.html", wanted);
  }
}

TEST_CASE("bad input: a UTF-8 byte-order mark, as Excel writes, is accepted and changes nothing") {
  if (binary_missing()) return;
  const Workdir work;
  const std::string with_bom = tg::read_file(kGoodDir / "bom.csv");
  REQUIRE(with_bom.starts_with("\xEF\xBB\xBF"));
  tg::write_file(work.dir / "no-bom.csv", with_bom.substr(3));
  const std::string checkpoint = quoted(kGoodDir / "checkpoint");
  const Result a = work.run("evaluate --json --checkpoint " + checkpoint + " --data " + quoted(kGoodDir / "bom.csv"));
  const Result b = work.run("evaluate --json --checkpoint " + checkpoint + " --data no-bom.csv");
  REQUIRE_MESSAGE(a.status == 0, a.err);
  REQUIRE_MESSAGE(b.status == 0, b.err);
  nlohmann::json ja = nlohmann::json::parse(a.out), jb = nlohmann::json::parse(b.out);
  CHECK(ja["count"] == 3);
  ja.erase("data");
  jb.erase("data");
  CHECK(ja == jb);
}

TEST_CASE("bad input: 10 MB single-line files are refused in one short line, a 10 MB tweet is read") {
  if (binary_missing()) return;
  const Workdir work;
  constexpr std::size_t kTenMegabytes = 10u << 20;
  std::string words;  // "lost my bag, lost my bag, …": commas make the header 1.6 million columns
  while (words.size() < kTenMegabytes) words += "lost my bag, ";
  tg::write_file(work.dir / "one-line.csv", words);
  tg::write_file(work.dir / "open-quote.csv", "airline_sentiment,text\r\nneutral,\"" + words);
  check_csv_refused(work, "one-line.csv", "one-line.csv:1: only a header, no data rows\n");
  check_csv_refused(work, "open-quote.csv",
                    "open-quote.csv:2: unterminated quoted field (the quote opened on this line is never closed)\n");

  tg::write_file(work.dir / "long-tweet.csv", "airline_sentiment,text\r\nnegative,\"" + words + "\"\r\n");
  const Result r = work.run("predict --json --checkpoint " + quoted(kGoodDir / "checkpoint") + " < long-tweet.csv");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const Result evaluated =
      work.run("evaluate --json --checkpoint " + quoted(kGoodDir / "checkpoint") + " --data long-tweet.csv");
  REQUIRE_MESSAGE(evaluated.status == 0, evaluated.err);
  CHECK(nlohmann::json::parse(evaluated.out)["count"] == 1);
}

TEST_CASE("bad input: absurd sizes on the command line are refused before anything is allocated") {
  if (binary_missing()) return;
  const Workdir work;
  const std::string train = "train --train tiny.csv --valid tiny.csv --out model --epochs 1 ";
  // One size over its own limit: a usage error (status 2) naming the option, at parsing.
  for (const char* option : {"--hidden 100000", "--embedding 9000", "--batch-size 100000000",
                             "--max-tokens 1000000000", "--pad-to 20000"}) {
    CAPTURE(option);
    const Result r = work.run(train + option);
    CHECK(r.status == 2);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK_MESSAGE(r.err.find(std::string(option).substr(0, std::string(option).find(' '))) != std::string::npos,
                  r.err);
    CHECK_FALSE(fs::exists(work.dir / "model"));
  }
  // Sizes each within its limit whose batch would not be: about 2.9 TiB of activations.
  const Result batch = work.run(train + "--batch-size 65536 --max-tokens 10000 --hidden 512 --embedding 512");
  CHECK(batch.status == 2);
  CHECK_MESSAGE(batch.err.find("a batch of 65536 × 10000 tokens with embedding 512 and hidden size 512 "
                               "(bidirectional) needs about") != std::string::npos, batch.err);
  CHECK_MESSAGE(batch.err.find("over the limit of 4.0 GiB; lower --batch-size") != std::string::npos, batch.err);
  CHECK(std::count(batch.err.begin(), batch.err.end(), '\n') == 1);
  // A small batch of a model with too many parameters: refused when the vocabulary is known.
  const Result model = work.run(train + "--batch-size 1 --max-tokens 1 --hidden 8192");
  CHECK(model.status == 1);
  CHECK_MESSAGE(model.err.find("classifier: vocabulary ") != std::string::npos, model.err);
  CHECK_MESSAGE(model.err.find(" parameters (") != std::string::npos, model.err);
  CHECK_MESSAGE(model.err.find("of float32), over the limit of 100000000") != std::string::npos, model.err);
  CHECK(std::count(model.err.begin(), model.err.end(), '\n') == 1);
  CHECK_FALSE(fs::exists(work.dir / "model"));
}

TEST_CASE("bad input: a model trained with more tokens per tweet than the canonical 48 loads again") {
  if (binary_missing()) return;
  const Workdir work;
  const Result trained = work.run(fmt::format("train --train tiny.csv --valid tiny.csv --out model --max-tokens 64 {}",
                                              kTiny));
  REQUIRE_MESSAGE(trained.status == 0, trained.err);
  const Result evaluated = work.run("evaluate --json --checkpoint model --data tiny.csv");
  REQUIRE_MESSAGE(evaluated.status == 0, evaluated.err);
  CHECK(nlohmann::json::parse(evaluated.out)["count"] == 15);
}

// ---- bad destinations -----------------------------------------------------------------

namespace {

const fs::path kBadDestinationDir = TG_SOURCE_DIR "/tests/data/bad/destinations";

// Every file, directory and symbolic link under `dir` with its content (a link: its target),
// so that "unchanged" means byte for byte.
std::map<std::string, std::string> contents(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const std::string name = fs::relative(entry.path(), dir).string();
    if (entry.is_symlink()) out[name] = "-> " + fs::read_symlink(entry.path()).string();
    else if (entry.is_directory()) out[name] = "(directory)";
    else out[name] = tg::read_file(entry.path());
  }
  return out;
}

}  // namespace

TEST_CASE("bad destinations: every --out case is one error line naming the file, exit 1, every file kept") {
  if (binary_missing()) return;
  const auto cases = tg::test::read_manifest(kBadDestinationDir, 3);
  CHECK(tg::test::corpus_on_disk(kBadDestinationDir) == tg::test::corpus_listed(cases));
  CHECK(cases.size() >= 12);
  const std::string good = quoted(kGoodDir / "checkpoint");
  for (const auto& [name, fields] : cases) {
    CAPTURE(name);
    const Workdir work;
    fs::copy(kBadDestinationDir / name, work.dir / name, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    const std::map<std::string, std::string> before = contents(work.dir);
    const std::string& command = fields[0];
    std::string args;
    if (command == "train") args = fmt::format("train --train tiny.csv --valid tiny.csv --out {} {}", name, kTiny);
    else if (command == "compare")
      args = fmt::format("compare --train tiny.csv --valid tiny.csv --seeds 1 --poolings last --out {} {}", name, kTiny);
    else if (command == "demo") args = fmt::format("demo --quick --out {}", name);
    else if (command == "report") args = fmt::format("report --checkpoint {} --data tiny.csv --out {}/report.html", good, name);
    REQUIRE_MESSAGE(!args.empty(), "unknown command in the manifest: " << command);
    work.check_refused(args, {(fs::path(name) / fields[1]).string(), fields[2]});
    CHECK(contents(work.dir) == before);
  }
}

// ---- Note [Input size limits]: every reader stops at the largest valid input ---------

namespace {

// A copy of the good checkpoint in work.dir/ckpt with `file` replaced by a symlink to `target`.
void checkpoint_with_link(const Workdir& work, const std::string& file, const fs::path& target) {
  fs::remove_all(work.dir / "ckpt");
  fs::copy(kGoodDir / "checkpoint", work.dir / "ckpt");
  fs::remove(work.dir / "ckpt" / file);
  fs::create_symlink(target, work.dir / "ckpt" / file);
}

// A copy of the good checkpoint in work.dir/ckpt with `file` a sparse file of `bytes`.
void checkpoint_with_sparse(const Workdir& work, const std::string& file, std::uintmax_t bytes) {
  fs::remove_all(work.dir / "ckpt");
  fs::copy(kGoodDir / "checkpoint", work.dir / "ckpt");
  fs::resize_file(work.dir / "ckpt" / file, bytes);
}

constexpr std::uintmax_t kTwoGiB = std::uintmax_t{2} << 30;

}  // namespace

TEST_CASE("bad input: endless and huge inputs (/dev/zero, 2 GiB sparse files) stop at their limit, one error line") {
  if (binary_missing()) return;
  const Workdir work;
  const std::string evaluate = "evaluate --checkpoint ckpt --data tiny.csv";
  checkpoint_with_link(work, "config.json", "/dev/zero");
  work.check_refused(evaluate, {"ckpt/config.json: over 64 MiB, more than a config.json can be (64 MiB; see Note "
                                "[Input size limits] in models/limits.hpp)"});
  checkpoint_with_sparse(work, "config.json", kTwoGiB);
  work.check_refused(evaluate, {"ckpt/config.json: 2.0 GiB, more than a config.json can be (64 MiB"});
  checkpoint_with_link(work, "vocab.txt", "/dev/zero");
  work.check_refused(evaluate, {"ckpt/vocab.txt: over 512 MiB, more than a vocabulary can be (512 MiB"});
  checkpoint_with_sparse(work, "vocab.txt", kTwoGiB);
  work.check_refused(evaluate, {"ckpt/vocab.txt: 2.0 GiB, more than a vocabulary can be (512 MiB"});
  checkpoint_with_sparse(work, "weights.npz", kTwoGiB);
  work.check_refused(evaluate, {"ckpt/weights.npz: 2147483648 bytes, more than an archive of the expected arrays "
                                "can be ("});
  fs::remove_all(work.dir / "ckpt");

  const std::string checkpoint = quoted(kGoodDir / "checkpoint");
  work.check_refused("evaluate --checkpoint " + checkpoint + " --data /dev/zero",
                     {"/dev/zero: over 512 MiB, more than a data file can be (512 MiB"});
  tg::write_file(work.dir / "huge.csv", "");
  fs::resize_file(work.dir / "huge.csv", kTwoGiB);
  work.check_refused("evaluate --checkpoint " + checkpoint + " --data huge.csv",
                     {"huge.csv: 2.0 GiB, more than a data file can be (512 MiB"});
  fs::remove(work.dir / "huge.csv");
  work.check_refused("predict --checkpoint " + checkpoint + " < /dev/zero",
                     {"stdin line 1: longer than 16 MiB, more than a text can be"});
}

TEST_CASE("bad input: a 10-million-line vocab.txt is refused after reading vocab_size + 1 lines") {
  if (binary_missing()) return;
  const Workdir work;
  fs::copy(kGoodDir / "checkpoint", work.dir / "ckpt");
  {
    std::string lines = tg::read_file(work.dir / "ckpt/vocab.txt");
    lines.reserve(lines.size() + 10'000'000 * 9);
    for (int i = 0; i < 10'000'000; ++i) lines += fmt::format("x{:07}\n", i);
    tg::write_file(work.dir / "ckpt/vocab.txt", lines);
  }
  work.check_refused("evaluate --checkpoint ckpt --data tiny.csv",
                     {"ckpt/vocab.txt has more than 22 tokens but ckpt/config.json says model.vocab_size is 22"});
}

TEST_CASE("bad input: out of memory under ulimit -v is one error line and exit 1, never an abort") {
  if (binary_missing()) return;
#if defined(__SANITIZE_ADDRESS__)
  // Under AddressSanitizer its allocator, not the program's operator new, meets the failure
  // (and the program's throwing operator new is compiled out there): nothing of ours to test.
  MESSAGE("skipped under AddressSanitizer");
  return;
#endif
  const Workdir work;
  // A 400 MiB data file (sparse zeros: within the 512 MiB limit) read under a 300 MiB
  // address-space limit: the allocation fails, and mimalloc must throw, not abort
  // (Note [Every failure is one line], tutorials/sentiment/main.cpp).
  constexpr int kAddressSpaceKiB = 300'000;
  tg::write_file(work.dir / "big.csv", "");
  fs::resize_file(work.dir / "big.csv", std::uintmax_t{400} << 20);
  const std::string checkpoint = quoted(kGoodDir / "checkpoint");
  for (const std::string& command : {"evaluate --checkpoint " + checkpoint + " --data big.csv",
                                     "report --checkpoint " + checkpoint + " --data big.csv --out r.html",
                                     "train --train big.csv --valid tiny.csv --out model " + std::string(kTiny)}) {
    CAPTURE(command);
    // One OpenBLAS thread: its thread server, started when the library loads, sometimes
    // spins forever when it cannot map its buffers under ulimit -v (old and new binaries alike).
    const std::string shell = fmt::format("cd {} && ulimit -v {} && OPENBLAS_NUM_THREADS=1 {} {} > ../limited.out "
                                          "2> ../limited.err",
                                          quoted(work.dir), kAddressSpaceKiB, quoted(kBinary), command);
    const int raw = std::system(shell.c_str());
    const Result r{WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, tg::read_file(work.dir.parent_path() / "limited.out"),
                   tg::read_file(work.dir.parent_path() / "limited.err")};
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.err == "sentiment: error: out of memory (std::bad_alloc): the input or model needs more memory "
                           "than this process may use\n", r.err);
    CHECK(r.out.empty());
  }
  fs::remove(work.dir / "big.csv");
  fs::remove(work.dir.parent_path() / "limited.out");
  fs::remove(work.dir.parent_path() / "limited.err");
}
