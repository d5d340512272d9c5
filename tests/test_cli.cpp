// Smoke tests of the `sentiment` program (tutorials/sentiment/), run as a user would:
// the built binary on small generated CSVs in a scratch directory, with tiny settings.
// Every subcommand's output is checked for substance (checkpoint files, JSON, a
// well-formed self-contained HTML page), and bad command lines and checkpoints for one
// error line naming the culprit, a non-zero status and no output left behind (the whole
// bad-input corpus runs in test_bad_input.cpp). Skipped when the binary is not built
// (TG_BUILD_TUTORIALS=OFF).
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "helpers.hpp"
#include "models/checkpoint/sentiment_checkpoint.hpp"
#include "models/data/csv.hpp"
#include "models/data/synthetic_tweets.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kBinary = TG_BINARY_DIR "/sentiment";
constexpr const char* kTiny = "--epochs 1 --hidden 8 --embedding 8 --batch-size 32";

struct Result {
  int status = -1;
  std::string out, err;
};

std::string quoted(const fs::path& p) { return fmt::format("'{}'", p.string()); }

// A scratch directory holding generated train/valid/test CSVs; runs the binary in it.
struct Cli : tg::test::ScratchDir {
  Cli() : ScratchDir("cli") {
    const std::vector<tg::SyntheticTweet> tweets = tg::generate_tweets(320, 11);
    const auto part = [&](std::size_t from, std::size_t n) {
      return std::vector<tg::SyntheticTweet>(tweets.begin() + long(from), tweets.begin() + long(from + n));
    };
    tg::write_synthetic_csv((dir / "train.csv").string(), part(0, 200));
    tg::write_synthetic_csv((dir / "valid.csv").string(), part(200, 60));
    tg::write_synthetic_csv((dir / "test.csv").string(), part(260, 60));
  }

  // `args` as a shell would split them, run from `dir`; stdin from `input` when given.
  Result run(const std::string& args, const std::string& input = "") const {
    std::string command = fmt::format("cd {} && {} {} > out.txt 2> err.txt", quoted(dir), quoted(kBinary), args);
    if (!input.empty()) {
      tg::write_file(dir / "in.txt", input);
      command += " < in.txt";
    }
    const int raw = std::system(command.c_str());
    return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, tg::read_file(dir / "out.txt"), tg::read_file(dir / "err.txt")};
  }

  // The same, run from the subdirectory `sub`.
  Result run_in(const std::string& sub, const std::string& args) const {
    const std::string command = fmt::format("cd {} && {} {} > ../out.txt 2> ../err.txt", quoted(dir / sub),
                                            quoted(kBinary), args);
    const int raw = std::system(command.c_str());
    return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, tg::read_file(dir / "out.txt"), tg::read_file(dir / "err.txt")};
  }

  // A tiny attention model trained on train.csv, saved to `name`.
  void train(const std::string& name, const std::string& extra = "") const {
    const Result r = run(fmt::format("train --train train.csv --valid valid.csv --out {} {} {}", name, kTiny, extra));
    REQUIRE_MESSAGE(r.status == 0, r.err);
  }
};

// Terminal columns of a line of UTF-8 text: its code points.
std::size_t columns(const std::string& line) {
  return std::size_t(std::count_if(line.begin(), line.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

bool binary_missing() {
  if (fs::exists(kBinary)) return false;
  MESSAGE("skipped: " << kBinary << " is not built (TG_BUILD_TUTORIALS=OFF?)");
  return true;
}

// Every file, directory and link under `dir` (but the runs' out.txt and err.txt) with its
// content, a link as its target: equal snapshots mean nothing was touched, byte for byte.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const std::string name = fs::relative(entry.path(), dir).string();
    if (name == "out.txt" || name == "err.txt") continue;
    if (entry.is_symlink()) out[name] = "-> " + fs::read_symlink(entry.path()).string();
    else if (entry.is_regular_file()) out[name] = tg::read_file(entry.path());
    else out[name] = fmt::format("(type {})", int(entry.status().type()));
  }
  return out;
}

// What a failed run must look like: status, one `sentiment: error:` line naming `file`.
void check_one_error_line(const Result& r, int status, const std::string& file) {
  CHECK(r.status == status);
  CHECK(r.err.rfind("sentiment: error: ", 0) == 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK_MESSAGE(r.err.find(file) != std::string::npos, r.err);
}

// Empty when every element is closed in order; else what is wrong. Void elements need no
// end tag and `<x/>` closes itself (the report's CSS holds no '<', so it needs no special case).
std::string unbalanced_tag(const std::string& html) {
  static const std::regex tag(R"(<(/?)([A-Za-z][A-Za-z0-9]*)[^>]*?(/?)>|<!--[\s\S]*?-->|<![^>]*>)");
  static const std::vector<std::string> kVoid = {"meta", "br", "img", "input", "link", "hr", "wbr", "col", "source"};
  std::vector<std::string> open;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), tag); it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    if (!m[2].matched) continue;  // comment or doctype
    std::string name = m[2];
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    if (m[1].length() > 0) {
      if (open.empty() || open.back() != name) return "</" + name + "> closes " + (open.empty() ? "nothing" : open.back());
      open.pop_back();
    } else if (m[3].length() == 0 && std::find(kVoid.begin(), kVoid.end(), name) == kVoid.end()) {
      open.push_back(name);
    }
  }
  return open.empty() ? "" : "<" + open.back() + "> never closed";
}

}  // namespace

TEST_CASE("cli: --help lists every subcommand") {
  if (binary_missing()) return;
  const Cli cli;
  const Result r = cli.run("--help");
  CHECK(r.status == 0);
  for (const char* sub : {"train", "compare", "evaluate", "predict", "report", "demo"})
    CHECK_MESSAGE(r.out.find(sub) != std::string::npos, sub);
}

TEST_CASE("cli: tag checker rejects crossed and unclosed tags") {
  CHECK(unbalanced_tag("<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body><svg><circle r=\"1\"/>"
                       "</svg><p>a &lt; b</p></body></html>") == "");
  CHECK(unbalanced_tag("<div><span></div></span>") != "");
  CHECK(unbalanced_tag("<table><tr><td>1</td></tr>") != "");
}

TEST_CASE("cli: train saves a checkpoint with weights, vocabulary and config, test metrics included") {
  if (binary_missing()) return;
  const Cli cli;
  const Result r = cli.run(fmt::format("train --train train.csv --valid valid.csv --test test.csv --pooling mean "
                                       "--out model {}", kTiny));
  REQUIRE_MESSAGE(r.status == 0, r.err);
  for (const char* file : {"weights.npz", "vocab.txt", "config.json"}) CHECK(fs::exists(cli.dir / "model" / file));
  const json config = json::parse(tg::read_file(cli.dir / "model/config.json"));
  CHECK(config["model"]["pooling"] == "mean");
  CHECK(config["model"]["hidden_size"] == 8);
  CHECK(config["extra"]["test"]["count"] == 60);
  CHECK(r.out.find("valid acc") != std::string::npos);  // the per-epoch table
}

TEST_CASE("cli: train --word-vectors starts the vocabulary's words from the file and records it") {
  if (binary_missing()) return;
  const Cli cli;
  // E = 8 numbers a word; "zzzz" is no word of the generated tweets.
  const std::vector<std::string> words = {"flight", "the", "zzzz", "thanks", "delayed"};
  std::string text;
  for (std::size_t w = 0; w < words.size(); ++w) {
    text += words[w];
    for (int e = 0; e < 8; ++e) text += fmt::format(" {}", 0.125 * double(w + 1) - 0.25 * e);
    text += '\n';
  }
  tg::write_file(cli.dir / "vectors.txt", text);
  // --lr 0: the rows stay what the file says, so the checkpoint shows where they started.
  const Result r = cli.run(fmt::format("train --train train.csv --valid valid.csv --out model {} --lr 0 "
                                       "--word-vectors vectors.txt", kTiny));
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const tg::LoadedSentimentModel loaded = tg::load_sentiment_checkpoint(cli.dir / "model");
  const tg::Array<float>& table = loaded.model->embedding.weight.value();
  std::size_t found = 0;
  for (std::size_t w = 0; w < words.size(); ++w) {
    if (!loaded.vocab.contains(words[w])) continue;
    ++found;
    for (std::size_t e = 0; e < 8; ++e)
      CHECK(table(std::size_t(loaded.vocab.id(words[w])), e) == float(0.125 * double(w + 1) - 0.25 * double(e)));
  }
  CHECK(found == 4);
  CHECK(r.out.find(fmt::format("word vectors: {} of the vocabulary's {} words start from vectors.txt (5 vectors of 8 "
                               "numbers)", found, loaded.vocab.size() - 2)) != std::string::npos);
  const json config = json::parse(tg::read_file(cli.dir / "model/config.json"));
  CHECK(config["extra"]["word_vectors"]["file"] == "vectors.txt");
  CHECK(config["extra"]["word_vectors"]["vocabulary_words_found"] == found);

  // The default recipe trains 5 epochs from word vectors, unless --epochs says otherwise.
  const Result five = cli.run("train --train train.csv --valid valid.csv --out five --hidden 8 --embedding 8 "
                              "--batch-size 32 --word-vectors vectors.txt");
  REQUIRE_MESSAGE(five.status == 0, five.err);
  CHECK(json::parse(tg::read_file(cli.dir / "five/config.json"))["train"]["epochs"] == 5);

  // Vectors of another size than E, a missing file: one error line, before any training.
  check_one_error_line(cli.run(fmt::format("train --train train.csv --valid valid.csv --out wide {} --embedding 16 "
                                           "--word-vectors vectors.txt", "--epochs 1 --hidden 8 --batch-size 32")),
                       1, "vectors.txt: its vectors have 8 numbers");
  CHECK(!fs::exists(cli.dir / "wide"));
  check_one_error_line(cli.run(fmt::format("compare --train train.csv --valid valid.csv --seeds 2 {} "
                                           "--word-vectors missing.txt", kTiny)), 1, "missing.txt");
}

TEST_CASE("cli: train --ensemble 2 saves one ensemble that evaluate, predict and report read") {
  if (binary_missing()) return;
  const Cli cli;
  cli.train("ens", "--ensemble 2");
  for (const char* file : {"ensemble.json", "member-1/weights.npz", "member-2/config.json"})
    CHECK(fs::exists(cli.dir / "ens" / file));
  CHECK(json::parse(tg::read_file(cli.dir / "ens/member-2/config.json"))["model"]["seed"] == 2);
  const Result evaluated = cli.run("evaluate --checkpoint ens --data test.csv --json");
  REQUIRE_MESSAGE(evaluated.status == 0, evaluated.err);
  CHECK(json::parse(evaluated.out)["members"] == 2);
  CHECK(json::parse(evaluated.out)["count"] == 60);
  const Result predicted = cli.run("predict --checkpoint ens --json \"great crew\"");
  REQUIRE_MESSAGE(predicted.status == 0, predicted.err);
  CHECK(json::parse(predicted.out)["alpha"].size() == 2);
  const Result report = cli.run("report --checkpoint ens --data test.csv --out r.html");
  REQUIRE_MESSAGE(report.status == 0, report.err);
  CHECK(tg::read_file(cli.dir / "r.html").find("an ensemble of 2") != std::string::npos);
  fs::remove_all(cli.dir / "ens" / "member-2");
  const Result broken = cli.run("evaluate --checkpoint ens --data test.csv");
  CHECK(broken.status == 1);
  CHECK(broken.err.find("member-2/config.json") != std::string::npos);
}

TEST_CASE("cli: evaluate --json prints one object whose confusion matrix counts every tweet") {
  if (binary_missing()) return;
  const Cli cli;
  cli.train("model");
  const Result r = cli.run("evaluate --checkpoint model --data test.csv --json");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const json j = json::parse(r.out);
  CHECK(j["count"] == 60);
  CHECK(j["accuracy"].get<double>() >= 0);
  CHECK(j["accuracy"].get<double>() <= 1);
  std::size_t total = 0;
  for (const auto& row : j["confusion"]) for (const auto& n : row) total += n.get<std::size_t>();
  CHECK(total == 60);
  CHECK(j["per_class"].contains("neutral"));
}

// --threads 3 shares each batch among three threads (forward_parallel): the same counts,
// and the loss to rounding (a share's gemms have other row counts). auto picks some count.
TEST_CASE("cli: evaluate with --threads 3 or auto scores as with one thread") {
  if (binary_missing()) return;
  const Cli cli;
  cli.train("model");
  const Result one = cli.run("evaluate --checkpoint model --data test.csv --json --threads 1");
  const Result automatic = cli.run("evaluate --checkpoint model --data test.csv --json --threads auto");
  REQUIRE_MESSAGE(automatic.status == 0, automatic.err);
  CHECK(json::parse(automatic.out)["confusion"] == json::parse(one.out)["confusion"]);
  const Result three = cli.run("evaluate --checkpoint model --data test.csv --json --threads 3");
  REQUIRE_MESSAGE(one.status == 0, one.err);
  REQUIRE_MESSAGE(three.status == 0, three.err);
  const json a = json::parse(one.out), b = json::parse(three.out);
  CHECK(a["confusion"] == b["confusion"]);
  CHECK(a["loss"].get<double>() == doctest::Approx(b["loss"].get<double>()).epsilon(1e-5));
  const Result report = cli.run("report --checkpoint model --data test.csv --out r.html --threads 2");
  REQUIRE_MESSAGE(report.status == 0, report.err);
  CHECK(report.out.find(fmt::format("accuracy {:.4f}", a["accuracy"].get<double>())) != std::string::npos);
}

TEST_CASE("cli: predict --json gives tokens, alpha summing to 1 under attention, and probabilities") {
  if (binary_missing()) return;
  const Cli cli;
  cli.train("model");
  const auto check_line = [](const std::string& line) {
    const json j = json::parse(line);
    CHECK(j["tokens"].size() == j["alpha"].size());
    double alpha = 0, probability = 0;
    for (const auto& a : j["alpha"]) alpha += a.get<double>();
    for (const auto& [_, p] : j["probabilities"].items()) probability += p.get<double>();
    CHECK(alpha == doctest::Approx(1).epsilon(1e-5));
    CHECK(probability == doctest::Approx(1).epsilon(1e-5));
  };
  const Result args = cli.run("predict --checkpoint model --json '@united lost my bag' 'thanks for the upgrade'");
  REQUIRE_MESSAGE(args.status == 0, args.err);
  std::istringstream lines(args.out);
  std::size_t count = 0;
  for (std::string line; std::getline(lines, line); ++count) check_line(line);
  CHECK(count == 2);
  const Result piped = cli.run("predict --checkpoint model --json", "@united lost my bag\n\nnot bad at all\n");
  REQUIRE_MESSAGE(piped.status == 0, piped.err);
  CHECK(std::count(piped.out.begin(), piped.out.end(), '\n') == 2);  // the blank line is skipped
}

TEST_CASE("cli: predict prints word(alpha) pairs and no escape codes when stdout is not a terminal") {
  if (binary_missing()) return;
  const Cli cli;
  cli.train("model");
  const Result r = cli.run("predict --checkpoint model '@united lost my bag'");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(std::regex_search(r.out, std::regex(R"(lost\(0\.\d{3}\))")));
  CHECK(r.out.find('\x1b') == std::string::npos);
}

TEST_CASE("cli: predict --explain prints α, grad×input and leave-one-out for every word") {
  if (binary_missing()) return;
  const Cli cli;
  cli.train("model");
  const Result r = cli.run("predict --checkpoint model --explain '@united lost my bag'");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  // The usual two lines, then a header, one line per token (united lost my bag), and the note.
  CHECK(r.out.find("grad×input") != std::string::npos);
  CHECK(r.out.find("leave-one-out") != std::string::npos);
  for (const char* word : {"united", "lost", "my", "bag"})
    CHECK_MESSAGE(std::regex_search(r.out, std::regex(fmt::format(R"(\n  {} +0\.\d{{3}} +[+-]\d\.\d{{4}} +[+-]\d\.\d{{4}}\n)",
                                                                  word))),
                  word << " has no line of three numbers in\n" << r.out);
  CHECK(r.out.find("the weights the \"attention\" pooling learned") != std::string::npos);
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) CHECK_MESSAGE(columns(line) <= 100, line);
}

TEST_CASE("cli: predict --explain --json: the explanation's fields, and leave-one-out is a rerun without the word") {
  if (binary_missing()) return;
  const Cli cli;
  cli.train("model");
  const std::vector<std::string> words = {"united", "not", "bad", "at", "all", "thanks"};
  const Result r = cli.run("predict --checkpoint model --explain --json '@united not bad at all thanks'");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const json j = json::parse(r.out);
  REQUIRE(j.contains("explanation"));
  const json& e = j["explanation"];
  const std::string label = j["label"];
  CHECK(e["score"] == "p(" + label + ")");
  REQUIRE(e["alpha"].is_array());
  CHECK(e["alpha"].size() == words.size());
  CHECK(e["saliency"].size() == words.size());
  REQUIRE(e["occlusion"].size() == words.size());
  CHECK(e["alpha_note"].get<std::string>().find("attention") != std::string::npos);
  for (std::size_t t = 0; t < words.size(); ++t)  // the same α as without --explain
    CHECK(e["alpha"][t].get<double>() == doctest::Approx(j["alpha"][t].get<double>()).epsilon(1e-6));
  const double p = j["probabilities"][label];
  for (std::size_t t = 0; t < words.size(); ++t) {
    std::vector<std::string> rest = words;
    rest.erase(rest.begin() + long(t));
    const Result without = cli.run(fmt::format("predict --checkpoint model --json '{}'", fmt::join(rest, " ")));
    REQUIRE_MESSAGE(without.status == 0, without.err);
    const double p_without = json::parse(without.out)["probabilities"][label];
    CHECK_MESSAGE(std::abs(e["occlusion"][t].get<double>() - (p - p_without)) < 1e-5,
                  "without \"" << words[t] << "\": " << e["occlusion"][t] << " vs " << p - p_without);
  }
  // Without --explain the object is what it was.
  const Result plain = cli.run("predict --checkpoint model --json 'thanks'");
  CHECK_FALSE(json::parse(plain.out).contains("explanation"));
}

TEST_CASE("cli: predict --explain on last and mean pooling explains without α, and says so") {
  if (binary_missing()) return;
  const Cli cli;
  for (const std::string pooling : {"last", "mean"}) {
    cli.train("model-" + pooling, "--pooling " + pooling);
    const Result j = cli.run(fmt::format("predict --checkpoint model-{} --explain --json 'lost my bag'", pooling));
    REQUIRE_MESSAGE(j.status == 0, j.err);
    const json e = json::parse(j.out)["explanation"];
    CHECK(e["alpha"].is_null());
    CHECK(e["alpha_note"].get<std::string>().find("\"" + pooling + "\" pooling's weights are fixed") !=
          std::string::npos);
    CHECK(e["saliency"].size() == 3);
    CHECK(e["occlusion"].size() == 3);
    const Result text = cli.run(fmt::format("predict --checkpoint model-{} --explain 'lost my bag'", pooling));
    REQUIRE_MESSAGE(text.status == 0, text.err);
    CHECK(std::regex_search(text.out, std::regex(R"(\n  lost +- +[+-]\d\.\d{4} +[+-]\d\.\d{4}\n)")));
    CHECK(text.out.find("are fixed, not learned") != std::string::npos);
  }
}

TEST_CASE("cli: report writes one well-formed, self-contained HTML page with text escaped") {
  if (binary_missing()) return;
  const Cli cli;
  cli.train("model");
  tg::write_file(cli.dir / "tricky.csv", "airline_sentiment,text\r\n"
                                         "negative,\"<script>alert('x')</script> & \"\"lost\"\" my bag\"\r\n"
                                         "positive,great crew\r\nneutral,is flight 161 on time?\r\n");
  const Result r = cli.run("report --checkpoint model --data tricky.csv --out report.html");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const std::string html = tg::read_file(cli.dir / "report.html");
  CHECK(unbalanced_tag(html) == "");
  CHECK(html.find("<svg") != std::string::npos);
  CHECK(html.find("<table") != std::string::npos);
  CHECK_FALSE(std::regex_search(html, std::regex(R"((src|href)\s*=\s*["']?\s*(https?:)?//)", std::regex::icase)));
  CHECK(html.find("<link") == std::string::npos);
  CHECK(html.find("<script") == std::string::npos);  // the tweet's <script> is text, escaped
  CHECK(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;lost&quot;") != std::string::npos);
  // The first examples show α, gradient × input and leave-one-out word under word.
  CHECK(html.find("<table class=\"explain\">") != std::string::npos);
  CHECK(html.find("gradient &times; input of p(") != std::string::npos);
  CHECK(html.find("leave-one-out change in p(") != std::string::npos);
}

TEST_CASE("cli: compare prints every pooling beside the article and saves the best of each with --out") {
  if (binary_missing()) return;
  const Cli cli;
  const Result r = cli.run(fmt::format("compare --train train.csv --valid valid.csv --seeds 1 --out best {}", kTiny));
  REQUIRE_MESSAGE(r.status == 0, r.err);
  for (const char* row : {R"(\nlast +\d\.\d{4} ± \d\.\d{4} .*0\.7831)", R"(\nattention +\d\.\d{4} ± .*0\.7875)",
                          R"(\nmean +\d\.\d{4} ± )"})
    CHECK_MESSAGE(std::regex_search(r.out, std::regex(row)), row);
  for (const char* pooling : {"last", "attention", "mean"}) CHECK(fs::exists(cli.dir / "best" / pooling / "config.json"));
}

TEST_CASE("cli: compare gives each paired difference a 95% interval and a verdict, beside the article's +0.0044") {
  if (binary_missing()) return;
  const Cli cli;
  const Result r =
      cli.run(fmt::format("compare --train train.csv --valid valid.csv --seeds 2 --poolings last,attention {}", kTiny));
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(r.out.find("over seeds 1..2") != std::string::npos);
  // The article's direction, attention − last, whatever order --poolings gives.
  const std::regex pair(
      R"(\nattention - last: [+-]\d\.\d{4}, 95% interval \[[+-]\d\.\d{4}, [+-]\d\.\d{4}\]: (not )?distinguishable from zero at 95%)");
  CHECK_MESSAGE(std::regex_search(r.out, pair), r.out);
  const std::regex article(R"(The article's attention - last, 0\.7875 - 0\.7831 = \+0\.0044, is (inside|outside) the seed )"
                           R"(noise measured here\n\(a difference these 2 seeds can tell from zero is at least ±\d\.\d{4}\), )"
                           R"(and (inside|outside) this interval\.)");
  CHECK_MESSAGE(std::regex_search(r.out, article), r.out);
}

TEST_CASE("cli: baseline learns tiny synthetic data above chance and reports valid and test") {
  if (binary_missing()) return;
  const Cli cli;
  const Result r = cli.run("baseline --train train.csv --valid valid.csv --test test.csv --epochs 3");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  std::smatch m;
  REQUIRE_MESSAGE(std::regex_search(r.out, m, std::regex(R"(\nvalid: accuracy (\d\.\d{4}), macro-F1 \d\.\d{4}\n)")), r.out);
  CHECK(std::stod(m[1].str()) > 0.5);  // three classes: chance is about 1/3
  CHECK(std::regex_search(r.out, std::regex(R"(\ntest: accuracy \d\.\d{4}, macro-F1 \d\.\d{4}\n)")));
  CHECK(r.out.find("never on valid") != std::string::npos);
}

TEST_CASE("cli: baseline's bad input is one error line, its usage mistakes exit 2") {
  if (binary_missing()) return;
  const Cli cli;
  check_one_error_line(cli.run("baseline --train missing.csv --valid valid.csv"), 1, "missing.csv");
  tg::write_file(cli.dir / "bad.csv", "airline_sentiment,text\nangry,hello\n");
  check_one_error_line(cli.run("baseline --train bad.csv --valid valid.csv"), 1, "bad.csv");
  check_one_error_line(cli.run("baseline --train train.csv"), 2, "--valid");
  check_one_error_line(cli.run("baseline --train train.csv --valid valid.csv --epochs 0"), 2, "--epochs");
}

TEST_CASE("cli: demo --quick writes the data, the model and the report") {
  if (binary_missing()) return;
  const Cli cli;
  const Result r = cli.run("demo --quick --out demo");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  for (const char* file : {"train.csv", "valid.csv", "test.csv", "model/config.json", "report.html"})
    CHECK_MESSAGE(fs::exists(cli.dir / "demo" / file), file);
  CHECK(r.out.find("sentiment predict --checkpoint") != std::string::npos);
}

TEST_CASE("cli: a missing or mismatched checkpoint is one error line naming the file at fault") {
  if (binary_missing()) return;
  const Cli cli;
  check_one_error_line(cli.run("predict --checkpoint nowhere hello"), 1, "nowhere");
  cli.train("model");
  std::string vocab = tg::read_file(cli.dir / "model/vocab.txt");
  vocab.erase(vocab.rfind('\n', vocab.size() - 2) + 1);  // drop the last token
  tg::write_file(cli.dir / "model/vocab.txt", vocab);
  check_one_error_line(cli.run("evaluate --checkpoint model --data test.csv"), 1, "vocab.txt");
  check_one_error_line(cli.run("report --checkpoint model --data test.csv --out r.html"), 1, "vocab.txt");
  CHECK_FALSE(fs::exists(cli.dir / "r.html"));
}

TEST_CASE("cli: command-line mistakes exit 2 before doing anything") {
  if (binary_missing()) return;
  const Cli cli;
  check_one_error_line(cli.run("train --train train.csv --valid valid.csv --pooling max --out m"), 2, "--pooling");
  check_one_error_line(cli.run("train --train train.csv --out m"), 2, "--valid");
  check_one_error_line(cli.run("predict hello"), 2, "--checkpoint");
  check_one_error_line(cli.run("frobnicate"), 2, "frobnicate");
  CHECK_FALSE(fs::exists(cli.dir / "m"));
}

TEST_CASE("cli: train refuses an --out that is not a checkpoint before training, leaving it intact") {
  if (binary_missing()) return;
  const Cli cli;
  tg::write_file(cli.dir / "notes.txt", "keep me");
  check_one_error_line(cli.run(fmt::format("train --train train.csv --valid valid.csv --out notes.txt {}", kTiny)), 1,
                       "notes.txt");
  CHECK(tg::read_file(cli.dir / "notes.txt") == "keep me");
}

// ---- destinations: tapegrad replaces only what it provably wrote (docs/reliability.md) ----
// Each refused run: exit 1, one error line naming the culprit, nothing on stdout (so the
// refusal came before any data was read or any training began), and every file in the
// scratch directory as it was, byte for byte. More cases: tests/data/bad/destinations/.

namespace {

// `args` must be refused up front with one error line holding `wanted`, touching nothing.
void check_refused_up_front(const Cli& cli, const std::string& args, const std::string& wanted,
                            const std::string& sub = "") {
  CAPTURE(args);
  const auto before = snapshot(cli.dir);
  const Result r = sub.empty() ? cli.run(args) : cli.run_in(sub, args);
  check_one_error_line(r, 1, wanted);
  CHECK_MESSAGE(r.out.empty(), r.out);
  CHECK(snapshot(cli.dir) == before);
}

std::string train_to(const std::string& out) {
  return fmt::format("train --train train.csv --valid valid.csv --out {} {}", out, kTiny);
}

}  // namespace

TEST_CASE("cli: train, compare and demo refuse --out \"\", the current directory and what lies above it") {
  if (binary_missing()) return;
  const Cli cli;
  check_refused_up_front(cli, train_to("''"), "the checkpoint directory name is empty");
  check_refused_up_front(cli, train_to("."), ".: is the current directory or one above it");
  check_refused_up_front(cli, train_to(".."), "..: is the current directory or one above it");
  check_refused_up_front(cli, train_to(quoted(cli.dir)), "is the current directory or one above it");
  check_refused_up_front(cli, train_to("/"), "/: is the current directory or one above it");
  // In an empty folder too (it used to train an epoch, then fail, leaving "in progress").
  fs::create_directories(cli.dir / "empty");
  check_refused_up_front(cli, "train --train ../train.csv --valid ../valid.csv --out . --epochs 1 --hidden 8 "
                              "--embedding 8", ".: is the current directory", "empty");
  check_refused_up_front(cli, fmt::format("compare --train train.csv --valid valid.csv --seeds 1 --out '' {}", kTiny),
                         "--out is empty");
  check_refused_up_front(cli, "demo --quick --out ''", "--out is empty");
  check_refused_up_front(cli, "demo --quick --out .", "not written by tapegrad (the demo's folder holds only");
}

TEST_CASE("cli: a symbolic link, FIFO, device or directory given as --out is refused, never replaced") {
  if (binary_missing()) return;
  const Cli cli;
  cli.train("model");
  const std::string good = "report --checkpoint model --data test.csv --out ";
  tg::write_file(cli.dir / "victim.txt", "the user's file\n");
  fs::create_symlink("victim.txt", cli.dir / "link.html");
  fs::create_directory_symlink("model", cli.dir / "model-link");
  REQUIRE(::mkfifo((cli.dir / "fifo").c_str(), 0644) == 0);
  check_refused_up_front(cli, good + "link.html", "link.html: is a symbolic link, not a regular file");
  check_refused_up_front(cli, good + "fifo", "fifo: is a FIFO, not a regular file");  // never opened: no hang
  check_refused_up_front(cli, good + "model", "model: is a directory, not a regular file");
  check_refused_up_front(cli, good + "nowhere/r.html", "r.html: its directory nowhere does not exist");
  check_refused_up_front(cli, train_to("model-link"), "model-link: is a symbolic link, not a directory");
  check_refused_up_front(cli, train_to("fifo"), "fifo: is a FIFO, not a directory");
  check_refused_up_front(cli, train_to("victim.txt"), "victim.txt: is a regular file, not a directory");
  // A device node of our own, as /dev/null is one (an old binary replaced /dev/null with a
  // regular file): made in the scratch directory, never a real /dev file. Needs CAP_MKNOD.
  if (::mknod((cli.dir / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) {
    check_refused_up_front(cli, good + "null", "null: is a character device, not a regular file");
    check_refused_up_front(cli, train_to("null"), "null: is a character device, not a directory");
    struct stat st;
    CHECK((::lstat((cli.dir / "null").c_str(), &st) == 0 && S_ISCHR(st.st_mode)));
  } else {
    MESSAGE("device-node case skipped: mknod is not permitted here");
  }
  CHECK(fs::is_symlink(cli.dir / "link.html"));
  CHECK(fs::is_fifo(cli.dir / "fifo"));
}

TEST_CASE("cli: train replaces its own checkpoint, and refuses before training once a foreign file is in it") {
  if (binary_missing()) return;
  const Cli cli;
  cli.train("model");
  cli.train("model", "--pooling mean");  // its own: replaced
  CHECK(json::parse(tg::read_file(cli.dir / "model/config.json"))["model"]["pooling"] == "mean");
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(cli.dir / "model")) files.push_back(entry.path().filename().string());
  std::sort(files.begin(), files.end());
  CHECK(files == std::vector<std::string>{"SHA256SUMS", "config.json", "vocab.txt", "weights.npz"});

  tg::write_file(cli.dir / "model/notes.txt", "keep me");
  check_refused_up_front(cli, train_to("model"), "model/notes.txt: not written by tapegrad");
  fs::remove(cli.dir / "model/notes.txt");
  const Result report = cli.run("report --checkpoint model --data test.csv --out model/report.html");
  REQUIRE_MESSAGE(report.status == 0, report.err);  // report may write there: it is the user's choice...
  check_refused_up_front(cli, train_to("model"), "model/report.html: not written by tapegrad");  // ...train keeps it
  fs::remove(cli.dir / "model/report.html");
  std::string config = tg::read_file(cli.dir / "model/config.json");
  config.insert(config.find("\"recipe\""), "\"my note\": 1, ");
  tg::write_file(cli.dir / "model/config.json", config);
  check_refused_up_front(cli, train_to("model"), "model/config.json: changed since tapegrad wrote it");
}

TEST_CASE("cli: report replaces only a report it wrote") {
  if (binary_missing()) return;
  const Cli cli;
  cli.train("model");
  const std::string args = "report --checkpoint model --data test.csv --out r.html";
  REQUIRE(cli.run(args).status == 0);
  REQUIRE(cli.run(args).status == 0);  // its own, unchanged: replaced
  tg::write_file(cli.dir / "r.html", tg::read_file(cli.dir / "r.html") + "<p>my notes</p>\n");
  check_refused_up_front(cli, args, "r.html: exists and is not a report written by sentiment");
  tg::write_file(cli.dir / "notes.html", "<p>mine</p>\n");
  check_refused_up_front(cli, "report --checkpoint model --data test.csv --out notes.html",
                         "notes.html: exists and is not a report written by sentiment");
}

TEST_CASE("cli: demo reruns over its own folder but never overwrites a file it did not write") {
  if (binary_missing()) return;
  const Cli cli;
  REQUIRE(cli.run("demo --quick --out demo").status == 0);
  const Result again = cli.run("demo --quick --out demo");
  REQUIRE_MESSAGE(again.status == 0, again.err);
  CHECK(tg::read_file(cli.dir / "demo/SHA256SUMS").find("  report.html\n") != std::string::npos);
  tg::write_file(cli.dir / "demo/notes.txt", "keep me");
  check_refused_up_front(cli, "demo --quick --out demo", "demo/notes.txt: not written by tapegrad");
  fs::remove(cli.dir / "demo/notes.txt");
  tg::write_file(cli.dir / "demo/train.csv", "airline_sentiment,text\r\nnegative,my own labelled tweet\r\n");
  check_refused_up_front(cli, "demo --quick --out demo", "demo/train.csv: changed since tapegrad wrote it");
  fs::create_directories(cli.dir / "mine");
  tg::write_file(cli.dir / "mine/test.csv", "my test split");
  check_refused_up_front(cli, "demo --quick --out mine", "mine/test.csv: no SHA256SUMS beside it");
}

TEST_CASE("cli: a read-only destination is refused before training") {
  if (binary_missing()) return;
  if (::geteuid() == 0) {
    MESSAGE("skipped: root may write in a read-only directory (the writer's unit test covers the check)");
    return;
  }
  const Cli cli;
  fs::create_directories(cli.dir / "ro");
  fs::permissions(cli.dir / "ro", fs::perms::owner_read | fs::perms::owner_exec);
  check_refused_up_front(cli, train_to("ro/model"), "ro/model: cannot write in");
  check_refused_up_front(cli, "report --checkpoint nowhere --data test.csv --out ro/r.html",
                         "ro/r.html: cannot write in its directory");
  fs::permissions(cli.dir / "ro", fs::perms::owner_all);
}

TEST_CASE("cli: every numeric option refuses NaN, a sign, overflow and out-of-range values with a readable range") {
  if (binary_missing()) return;
  const Cli cli;
  const std::string train = "train --train train.csv --valid valid.csv --out m ";
  // Note [Numeric options] (tutorials/sentiment/options.cpp): each is a usage error (exit 2)
  // at parsing, before any setup is printed, and the message shows the range in few digits.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--lr nan", "--lr: nan is not a number ≥ 0"},
      {"--lr inf", "--lr: inf is not a number ≥ 0"},
      {"--lr -0.5", "--lr: -0.5 is not a number ≥ 0"},
      {"--lr 1e400", "--lr: 1e400 is not a number ≥ 0"},
      {"--clip nan", "--clip: nan is not a number ≥ 0"},
      {"--weight-decay nan", "--weight-decay: nan is not a number ≥ 0"},
      {"--embedding-dropout nan", "--embedding-dropout: nan is not a number from 0 to 0.95"},
      {"--state-dropout 0.99", "--state-dropout: 0.99 is not a number from 0 to 0.95"},
      {"--seed -1", "--seed: -1 is not a whole number ≥ 0"},
      {"--seed 18446744073709551616", "--seed: 18446744073709551616 is not a whole number ≥ 0"},
      {"--split-seed -1", "--split-seed: -1 is not a whole number ≥ 0"},
      {"--epochs 0", "--epochs: 0 is not a whole number from 1 to 100000"},
      {"--epochs 18446744073709551616", "--epochs: 18446744073709551616 is not a whole number from 1 to 100000"},
      {"--epochs 4611686018427387904", "--epochs: 4611686018427387904 is not a whole number from 1 to 100000"},
      {"--epochs 2.5", "--epochs: 2.5 is not a whole number from 1 to 100000"},
      {"--batch-size -8", "--batch-size: -8 is not a whole number from 1 to 65536"},
      {"--patience -1", "--patience: -1 is not a whole number from 0 to 100000"},
      {"--min-count -2", "--min-count: -2 is not a whole number ≥ 0"},
      {"--log-every -1", "--log-every: -1 is not a whole number ≥ 0"},
      {"--threads 0", "--threads: 0 is not auto or a whole number from 1 to 64"},
      {"--threads two", "--threads: two is not auto or a whole number from 1 to 64"},
      {"--threads 65", "--threads: 65 is not auto or a whole number from 1 to 64"},
  };
  for (const auto& [option, message] : cases) {
    CAPTURE(option);
    const Result r = cli.run(train + option);
    check_one_error_line(r, 2, message);
    CHECK(r.out.empty());  // nothing printed: not even the setup
    CHECK(r.err.find("0.000000") == std::string::npos);
    CHECK(r.err.size() < 300);  // no 309-digit DBL_MAX
  }
  check_one_error_line(cli.run("compare --train train.csv --valid valid.csv --seeds 0"), 2,
                       "--seeds: 0 is not a whole number from 1 to 1000000");
  check_one_error_line(cli.run("report --checkpoint m --data valid.csv --examples -1"), 2,
                       "--examples: -1 is not a whole number from 0 to 10000");
  CHECK_FALSE(fs::exists(cli.dir / "m"));
}

TEST_CASE("cli: report on a history holding a loss of 1e20 finishes with a bounded chart") {
  if (binary_missing()) return;
  const Cli cli;
  cli.train("model");
  json config = json::parse(tg::read_file(cli.dir / "model/config.json"));
  for (json& epoch : config["history"]["epochs"]) {  // 1e20 + 1e-3 == 1e20: the old tick loop never ended
    epoch["train_loss"] = 1e20;
    epoch["valid_loss"] = 1e20;
  }
  config["history"]["epochs"][0]["train_accuracy"] = 1.7e308;
  tg::write_file(cli.dir / "model/config.json", config.dump(2));
  const Result r = cli.run("report --checkpoint model --data test.csv --out r.html");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const std::string html = tg::read_file(cli.dir / "r.html");
  CHECK(html.size() < 200'000);
  CHECK(html.find("e+20") != std::string::npos);
  CHECK(unbalanced_tag(html) == "");
}

TEST_CASE("cli: a data file name that is not UTF-8 trains, and config.json and --json hold it with U+FFFD") {
  if (binary_missing()) return;
  const Cli cli;
  fs::copy_file(cli.dir / "train.csv", cli.dir / "train-\xff.csv");
  const Result r = cli.run(fmt::format("train --train \"$(printf 'train-\\377.csv')\" --valid valid.csv --out model {}", kTiny));
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const json config = json::parse(tg::read_file(cli.dir / "model/config.json"));
  CHECK(config["extra"]["data"]["train"] == "train-\xef\xbf\xbd.csv");
  const Result evaluated = cli.run("evaluate --json --checkpoint model --data \"$(printf 'train-\\377.csv')\"");
  REQUIRE_MESSAGE(evaluated.status == 0, evaluated.err);
  CHECK(json::parse(evaluated.out)["data"] == "train-\xef\xbf\xbd.csv");
}

TEST_CASE("cli: predict --json names a line of invalid UTF-8, replaces its bad bytes and goes on") {
  if (binary_missing()) return;
  const Cli cli;
  cli.train("model");
  const Result r = cli.run("predict --json --checkpoint model", "great flight\nlost my bag \xff\xfe in \xc3(\nthanks\n");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(r.err == "sentiment: warning: stdin line 2: not valid UTF-8 (byte 13, 0xff); each invalid byte is U+FFFD in "
                 "its \"text\"\n");
  std::vector<json> answers;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) answers.push_back(json::parse(line));
  REQUIRE(answers.size() == 3);
  CHECK(answers[1]["text"] == "lost my bag \xef\xbf\xbd\xef\xbf\xbd in \xef\xbf\xbd(");
  CHECK(answers[1]["tokens"] == json{"lost", "my", "bag", "in"});
  CHECK(answers[2]["text"] == "thanks");
}
