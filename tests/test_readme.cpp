// The README quotes real source code. A quote is marked by a line
//   <!-- quoted from PATH -->
// right before a fenced code block; these tests keep every such block equal, line for
// line, to a run of lines of PATH, so the README's "Adding an op" is what the code does.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::vector<std::string> lines_of(const std::filesystem::path& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in, "cannot read " << path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

struct Quote {
  std::string source;               // the file the README says it quotes
  std::size_t readme_line = 0;      // 1-based line of the marker
  std::vector<std::string> lines;   // the fenced block's contents
};

std::vector<Quote> quotes_in(const std::vector<std::string>& readme) {
  const std::string marker = "<!-- quoted from ";
  std::vector<Quote> quotes;
  for (std::size_t i = 0; i < readme.size(); ++i) {
    if (readme[i].rfind(marker, 0) != 0) continue;
    Quote q;
    q.readme_line = i + 1;
    q.source = readme[i].substr(marker.size(), readme[i].find(" -->") - marker.size());
    REQUIRE_MESSAGE(i + 1 < readme.size(), "README.md:" << q.readme_line << ": nothing after the marker");
    REQUIRE_MESSAGE(readme[i + 1].rfind("```", 0) == 0, "README.md:" << q.readme_line << ": no code block after the marker");
    std::size_t j = i + 2;
    for (; j < readme.size() && readme[j].rfind("```", 0) != 0; ++j) q.lines.push_back(readme[j]);
    REQUIRE_MESSAGE(j < readme.size(), "README.md:" << q.readme_line << ": unterminated code block");
    quotes.push_back(q);
  }
  return quotes;
}

bool contains_run(const std::vector<std::string>& haystack, const std::vector<std::string>& run) {
  if (run.empty() || run.size() > haystack.size()) return false;
  for (std::size_t start = 0; start + run.size() <= haystack.size(); ++start) {
    std::size_t k = 0;
    while (k < run.size() && haystack[start + k] == run[k]) ++k;
    if (k == run.size()) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("README: every quoted code block is, line for line, in the file it names") {
  const std::filesystem::path root = TG_SOURCE_DIR;
  const std::vector<Quote> quotes = quotes_in(lines_of(root / "README.md"));
  REQUIRE_MESSAGE(!quotes.empty(), "README.md quotes no source (its \"Adding an op\" should)");
  for (const Quote& q : quotes) {
    INFO("README.md:" << q.readme_line << " quotes " << q.source);
    CHECK(q.lines.size() >= 3);
    CHECK(contains_run(lines_of(root / q.source), q.lines));
  }
}

TEST_CASE("README: the quote check fails on a block that is not in its file") {
  const std::vector<std::string> source = {"a", "b", "c", "d"};
  CHECK(contains_run(source, {"b", "c"}));
  CHECK_FALSE(contains_run(source, {"b", "d"}));
  CHECK_FALSE(contains_run(source, {"c", "d", "e"}));
  const std::vector<std::string> readme = {"text", "<!-- quoted from x.cpp -->", "```cpp", "b", "c", "```"};
  const std::vector<Quote> quotes = quotes_in(readme);
  REQUIRE(quotes.size() == 1);
  CHECK(quotes[0].source == "x.cpp");
  CHECK(quotes[0].readme_line == 2);
  CHECK(quotes[0].lines == std::vector<std::string>{"b", "c"});
}
