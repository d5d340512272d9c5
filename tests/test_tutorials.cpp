// Keeping the documentation's numbers true, and the lessons' command line and layout.
//
// Note [Checked numbers]
// ~~~~~~~~~~~~~~~~~~~~~~
// The READMEs quote numbers the programs print. These tests run the programs and check
// that every quoted number appears in their actual output, so the text cannot go stale:
//  - tutorials/README.md: each `### ` section that gives a lesson's run line `./NN_name`
//    is checked against that lesson's output (a new lesson's section is covered as soon as
//    it has its run line);
//  - README.md: each table row whose first cell is `NN_name` (the Lessons table) against
//    that lesson; each fenced block right after a line `<!-- output of: PROGRAM ARGS -->`
//    against PROGRAM (a lesson, or `sentiment`) run with ARGS in a scratch directory.
// A *checked number* has a decimal point and three or more digits after it (0.462117,
// 1.0729, 0.798), or a decimal mantissa with an exponent (1.7e-11, 4.1e-2). Integers,
// two-decimal numbers and tolerances such as 1e-8 are prose. The number must appear in the
// output as a whole number token with the same digits; the sign is ignored (the READMEs
// write −) and exponents compare by value (4.1e-2 = 4.1e-02). A number that is quoted but
// not printed (a paper's result, a rounded one) is listed in the same section on a line
// `<!-- not printed: 0.7831 0.7875 -->`.
//
// Training output is the exception: a few hundred SGD steps amplify last-bit differences,
// and the last bits depend on the CPU (-march=native picks the vector width; OpenBLAS picks
// its kernel at run time), so the demo's accuracies on another machine differ by a few
// tweets. Its block is marked `<!-- output of: sentiment; numbers within 0.02 -->` and
// checked line by line instead: each quoted line, its numbers masked, must begin a printed
// line (in order; a trailing `…` cuts it short), and each quoted number must be within 0.02
// of the number printed in its place. The text, the layout and the order stay exact.
//
// Every lesson's output lines must also fit 100 columns (code points, not bytes).
//
// Each lesson runs once: its own CTest test (lesson.NN_name, cmake/run_lesson.cmake) keeps
// what it printed, and these checks read that (CTest runs them after it).
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "helpers.hpp"
#include "models/data/csv.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path kSource = TG_SOURCE_DIR;
const fs::path kBinaries = TG_BINARY_DIR;
constexpr std::size_t kColumns = 100;

struct Run {
  int status = -1;
  std::string out;
};

// PROGRAM ARGS from a scratch directory, stdin from /dev/null (so --step never waits).
Run run(const std::string& program, const std::string& args = "") {
  // A lesson with no arguments has run already, as its own CTest test (lesson.NN_name), which
  // keeps its output when it passes (cmake/run_lesson.cmake): read that when it is newer than
  // the lesson's binary.
  const fs::path saved = kBinaries / "lesson-output" / (program + ".txt");
  std::error_code error;
  if (args.empty() && fs::exists(saved, error) &&
      fs::last_write_time(saved, error) >= fs::last_write_time(kBinaries / program, error) && !error)
    return {0, tg::read_file(saved)};
  const tg::test::ScratchDir scratch("tutorials");
  const std::string command = fmt::format("cd '{}' && '{}' {} < /dev/null > out.txt 2>&1", scratch.dir.string(),
                                          (kBinaries / program).string(), args);
  const int raw = std::system(command.c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, tg::read_file(scratch.dir / "out.txt")};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::size_t columns(const std::string& line) {
  return std::size_t(std::count_if(line.begin(), line.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// "4.1e-02" → "4.1e-2", "+3" → "3": the form two spellings of one number share.
std::string normal(std::string number) {
  const std::size_t e = number.find_first_of("eE");
  if (e == std::string::npos) return number;
  std::string exponent = number.substr(e + 1);
  std::string sign;
  if (!exponent.empty() && (exponent[0] == '-' || exponent[0] == '+')) {
    if (exponent[0] == '-') sign = "-";
    exponent.erase(0, 1);
  }
  exponent.erase(0, std::min(exponent.find_first_not_of('0'), exponent.size() - 1));
  return number.substr(0, e) + "e" + sign + exponent;
}

const std::regex kNumberToken(R"(\d+(\.\d+)?([eE][+-]?\d+)?)");

// Every number token in `text`, normalised.
std::set<std::string> numbers_in(const std::string& text) {
  std::set<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kNumberToken); it != std::sregex_iterator(); ++it)
    out.insert(normal(it->str()));
  return out;
}

struct Token {
  std::size_t at, length;
  std::string number;  // normalised
};

// The checked numbers of `text` (Note [Checked numbers]), in order, where they stand.
std::vector<Token> checked_tokens(const std::string& text) {
  std::vector<Token> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kNumberToken); it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    const bool decimals = m[1].matched && m[1].length() >= 4;  // ".ddd"
    const bool scientific = m[1].matched && m[2].matched;
    // Not part of a word or a version (v1.2.3, x86_64): skip tokens glued to letters or dots.
    const std::size_t at = std::size_t(m.position(0)), end = at + std::size_t(m.length(0));
    const auto glued = [&](std::size_t i) { return std::isalpha(static_cast<unsigned char>(text[i])) || text[i] == '_'; };
    if ((at > 0 && (glued(at - 1) || text[at - 1] == '.')) || (end < text.size() && glued(end))) continue;
    if (decimals || scientific) out.push_back({at, std::size_t(m.length(0)), normal(m.str())});
  }
  return out;
}

std::vector<std::string> checked_numbers(const std::string& text) {
  std::vector<std::string> out;
  for (const Token& t : checked_tokens(text)) out.push_back(t.number);
  return out;
}

// A line with its checked numbers masked as `#`, its runs of spaces as one (none at its ends), a trailing
// `…` dropped: what must be equal when the numbers may differ.
std::string skeleton(const std::string& line) {
  std::string masked;
  std::size_t from = 0;
  for (const Token& t : checked_tokens(line)) {
    masked += line.substr(from, t.at - from) + "#";
    from = t.at + t.length;
  }
  masked += line.substr(from);
  if (const std::string cut = "…"; masked.ends_with(cut)) masked.erase(masked.size() - cut.size());
  std::string out;
  for (char c : masked)
    if (c != ' ' || (!out.empty() && out.back() != ' ')) out += c;
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Numbers a section declares as not printed: `<!-- not printed: a b c -->`.
std::set<std::string> not_printed(const std::string& text) {
  std::set<std::string> out;
  static const std::regex marker(R"(<!-- not printed: ([^>]*)-->)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), marker); it != std::sregex_iterator(); ++it)
    for (const std::string& n : numbers_in((*it)[1].str())) out.insert(n);
  return out;
}

// The quoted numbers of one place in a README, and the program whose output holds them.
struct Quote {
  std::string where;    // "tutorials/README.md:25 (section …)"
  std::string program;  // "01_neuron", or "sentiment"
  std::string args;
  std::string text;
  double within = 0;  // > 0: checked line by line, numbers to this tolerance (Note [Checked numbers])
};

std::vector<Quote> tutorial_sections() {
  const std::vector<std::string> lines = lines_of(tg::read_file(kSource / "tutorials/README.md"));
  std::vector<Quote> out;
  static const std::regex run_line(R"(\./(\d\d_[a-z0-9_]+))");
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind("### ", 0) != 0) continue;
    Quote q{fmt::format("tutorials/README.md:{} ({})", i + 1, lines[i]), "", "", ""};
    for (std::size_t j = i + 1; j < lines.size() && lines[j].rfind("#", 0) != 0; ++j) q.text += lines[j] + "\n";
    std::smatch m;
    if (std::regex_search(q.text, m, run_line)) {
      q.program = m[1];
      out.push_back(q);
    }
  }
  return out;
}

std::vector<Quote> readme_quotes() {
  const std::vector<std::string> lines = lines_of(tg::read_file(kSource / "README.md"));
  std::vector<Quote> out;
  static const std::regex table_row(R"(^\| `(\d\d_[a-z0-9_]+)` \|)");
  static const std::regex output_of(R"(^<!-- output of: ([^\s;]+) ?([^;]*?)(?:; numbers within ([0-9.]+))? -->)");
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (std::regex_search(lines[i], m, table_row)) {
      out.push_back({fmt::format("README.md:{} (the Lessons table)", i + 1), m[1], "", lines[i]});
    } else if (std::regex_search(lines[i], m, output_of)) {
      Quote q{fmt::format("README.md:{} (output of {})", i + 1, m[1].str()), m[1], m[2], "",
              m[3].matched ? std::stod(m[3]) : 0.0};
      const bool fenced = i + 1 < lines.size() && lines[i + 1].rfind("```", 0) == 0;
      REQUIRE_MESSAGE(fenced, q.where << ": no fenced block right after the marker");
      std::size_t j = i + 2;
      for (; j < lines.size() && lines[j].rfind("```", 0) != 0; ++j) q.text += lines[j] + "\n";
      out.push_back(q);
    }
  }
  return out;
}

// The lessons there are: tutorials/NN_name.cpp, each built as NN_name.
std::vector<std::string> lessons() {
  std::vector<std::string> out;
  static const std::regex lesson(R"(\d\d_[a-z0-9_]+\.cpp)");
  for (const auto& entry : fs::directory_iterator(kSource / "tutorials"))
    if (std::regex_match(entry.path().filename().string(), lesson)) out.push_back(entry.path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

bool built(const std::string& program) {
  if (fs::exists(kBinaries / program)) return true;
  MESSAGE("skipped: " << (kBinaries / program) << " is not built (TG_BUILD_TUTORIALS=OFF?)");
  return false;
}

// A quote checked line by line (`numbers within TOL`): what does not hold, one line each.
std::vector<std::string> line_mismatches(const Quote& q, const std::string& out) {
  const std::vector<std::string> printed = lines_of(out);
  std::vector<std::string> problems;
  std::size_t next = 0;
  for (const std::string& line : lines_of(q.text)) {
    if (skeleton(line).empty()) continue;
    std::size_t at = next;
    while (at < printed.size() && !skeleton(printed[at]).starts_with(skeleton(line))) ++at;
    if (at == printed.size()) {
      problems.push_back(fmt::format("{}: `{}` prints no line like this one after its line {}:\n{}", q.where,
                                     q.program, next, line));
      return problems;
    }
    const std::vector<std::string> quoted = checked_numbers(line), got = checked_numbers(printed[at]);
    for (std::size_t i = 0; i < quoted.size(); ++i)
      if (!(std::abs(std::stod(quoted[i]) - std::stod(got[i])) <= q.within))
        problems.push_back(fmt::format("{} quotes {} where `{}` prints {} (more than {} apart) in\n{}", q.where,
                                       quoted[i], q.program, got[i], q.within, printed[at]));
    next = at + 1;
  }
  return problems;
}

// Checks every quote against its program's output, running each program once.
void check_quotes(const std::vector<Quote>& quotes) {
  std::map<std::string, Run> outputs;
  for (const Quote& q : quotes) {
    INFO(q.where);
    if (!built(q.program)) continue;
    const std::string key = q.program + " " + q.args;
    if (!outputs.count(key)) outputs[key] = run(q.program, q.args);
    const Run& r = outputs[key];
    CHECK_MESSAGE(r.status == 0, q.program << " exited " << r.status);
    if (q.within > 0) {
      for (const std::string& problem : line_mismatches(q, r.out)) CHECK_MESSAGE(false, problem);
      continue;
    }
    const std::set<std::string> printed = numbers_in(r.out), exempt = not_printed(q.text);
    for (const std::string& number : checked_numbers(q.text)) {
      const bool found = printed.count(number) || exempt.count(number);
      CHECK_MESSAGE(found,
                    q.where << " quotes " << number << ", which `" << key << "` does not print");
    }
  }
}

}  // namespace

TEST_CASE("tutorials: the number check reads the convention of Note [Checked numbers]") {
  CHECK(checked_numbers("y = 0.462117, dw = (−1.572896), α ≈ 0.25, 1e-8, x86_64, v1.2.345 and 1.7e-11, 0.798")
        == std::vector<std::string>{"0.462117", "1.572896", "1.7e-11", "0.798"});
  CHECK(normal("4.1e-02") == "4.1e-2");
  CHECK(normal("2.0e+00") == "2.0e0");
  CHECK(numbers_in("dw [0.786448 -1.572895 …] 1.30e-10").count("1.572895"));
  CHECK_FALSE(numbers_in("L = 0.534097").count("0.5341"));  // a prefix is not the number
  CHECK(not_printed("text <!-- not printed: 0.7831 0.7875 --> more") == std::set<std::string>{"0.7831", "0.7875"});
  CHECK(skeleton("last   0.9022 ± 0.0111   1.5s") == "last # ± # 1.5s");
  CHECK(skeleton("  jetblue(0.000) not(0.008) …") == "jetblue(#) not(#)");
}

TEST_CASE("tutorials: training output is checked line by line, in order, to its tolerance") {
  const std::string out = "header\nlast  0.9022 ± 0.0111\nattention 0.9517 ± 0.0100\n  a(0.500) b(0.250) c(0.250)\n";
  const auto problems = [&](const std::string& text) { return line_mismatches({"q", "p", "", text, 0.02}, out); };
  CHECK(problems("last 0.9100 ± 0.0050\n\n  a(0.510) b(0.240) …\n").empty());  // close, a cut line, a gap
  CHECK(problems("last 0.9322 ± 0.0111\n").size() == 1);                       // 0.03 off
  CHECK(problems("mean 0.9022 ± 0.0111\n").size() == 1);                       // never printed
  CHECK(problems("attention 0.9517 ± 0.0100\nlast 0.9022 ± 0.0111\n").size() == 1);  // out of order
  CHECK(problems("last 0.9022 ± 0.0111 1.0000\n").size() == 1);                // a line the output cuts short
}

TEST_CASE("tutorials: every number tutorials/README.md quotes is in its lesson's output") {
  const std::vector<Quote> sections = tutorial_sections();
  CHECK(sections.size() >= 7);
  check_quotes(sections);
}

TEST_CASE("tutorials: every number README.md's Lessons table and demo output quote is printed") {
  std::vector<Quote> quotes = readme_quotes();
  CHECK(std::count_if(quotes.begin(), quotes.end(), [](const Quote& q) { return q.program == "sentiment"; }) >= 1);
#if defined(__SANITIZE_ADDRESS__)
  // The demo trains nine models: over ten minutes under AddressSanitizer. Its numbers are
  // checked by the unsanitized build; here the lessons' rows are.
  std::erase_if(quotes, [](const Quote& q) { return q.program == "sentiment"; });
  MESSAGE("the demo's output is not checked under AddressSanitizer (too slow)");
#endif
  check_quotes(quotes);
}

TEST_CASE("tutorials: every lesson's output fits 100 columns") {
  for (const std::string& lesson : lessons()) {
    if (!built(lesson)) continue;
    const Run r = run(lesson);
    CHECK_MESSAGE(r.status == 0, lesson << " exited " << r.status);
    std::size_t number = 0;
    for (const std::string& line : lines_of(r.out)) {
      ++number;
      CHECK_MESSAGE(columns(line) <= kColumns, lesson << " line " << number << " has " << columns(line)
                                                      << " columns:\n" << line);
    }
  }
}

TEST_CASE("tutorials: --help says what a lesson teaches, a command-line mistake exits 2, --step runs through") {
  for (const std::string& lesson : lessons()) {
    if (!built(lesson)) continue;
    INFO(lesson);
    const Run help = run(lesson, "--help");
    CHECK(help.status == 0);
    // The title, then the one-line summary the lesson passes to tg::Lesson.
    const std::vector<std::string> lines = lines_of(help.out);
    REQUIRE(lines.size() >= 2);
    CHECK_MESSAGE(lines[1].rfind("  ", 0) == 0, lesson << " --help gives no summary:\n" << help.out);
    CHECK(run(lesson, "--no-such-option").status == 2);
    CHECK(run(lesson, "--dot").status == 2);  // a missing value
  }
  // A fast lesson with --step and no terminal: it must not wait for Enter.
  if (built("01_neuron")) {
    const Run stepped = run("01_neuron", "--step");
    CHECK(stepped.status == 0);
    CHECK(stepped.out.find("runs straight through") != std::string::npos);
    CHECK(stepped.out.find("[Enter") == std::string::npos);
  }
}
