// The bad-input corpus under tests/data/bad/ (see its README.md): where it lives and its
// manifests, read for test_dataset.cpp (the CSV reader's exact messages) and
// test_bad_input.cpp (every case through the `sentiment` program).
#pragma once
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/error.hpp"

namespace tg::test {

inline const std::filesystem::path kBadCsvDir = TG_SOURCE_DIR "/tests/data/bad/csv";
inline const std::filesystem::path kBadCheckpointDir = TG_SOURCE_DIR "/tests/data/bad/checkpoints";
inline const std::filesystem::path kGoodDir = TG_SOURCE_DIR "/tests/data/good";

// One line of a manifest: the case's file or directory name, then its tab-separated fields.
struct ManifestEntry {
  std::string name;
  std::vector<std::string> fields;
};

// `dir`/expected.tsv: one case a line, fields separated by tabs; blank lines and lines
// starting with '#' are comments. Every line must have `fields` fields after the name.
inline std::vector<ManifestEntry> read_manifest(const std::filesystem::path& dir, std::size_t fields) {
  const std::filesystem::path path = dir / "expected.tsv";
  std::ifstream in(path);
  if (!in) throw Error(path.string() + ": cannot open");
  std::vector<ManifestEntry> entries;
  std::size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> parts;
    std::istringstream split(line);
    for (std::string part; std::getline(split, part, '\t');) parts.push_back(part);
    if (parts.size() != fields + 1)
      throw Error(path.string() + ":" + std::to_string(number) + ": expected " + std::to_string(fields + 1) +
                  " tab-separated fields");
    entries.push_back({parts[0], {parts.begin() + 1, parts.end()}});
  }
  return entries;
}

// The names of the entries of `dir` but its manifest and README.
inline std::set<std::string> corpus_on_disk(const std::filesystem::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name != "expected.tsv" && name != "README.md") names.insert(name);
  }
  return names;
}

inline std::set<std::string> corpus_listed(const std::vector<ManifestEntry>& entries) {
  std::set<std::string> names;
  for (const ManifestEntry& e : entries) names.insert(e.name);
  return names;
}

}  // namespace tg::test
