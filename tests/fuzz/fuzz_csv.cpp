// Fuzzes the CSV reader (models/data/csv parse_csv) and the labelled-tweet loader on top
// of it (models/data/dataset parse_labelled_csv): any bytes either parse into a table of
// equal-width rows in line order, or are refused naming the file.
#include "fuzz_common.hpp"
#include "models/data/csv.hpp"
#include "models/data/dataset.hpp"

namespace {

constexpr const char* kSource = "fuzz.csv";

void check_table(const tg::CsvTable& table) {
  using tg::fuzz::require;
  require(!table.rows.empty(), "a table has at least one data row");
  std::size_t line = table.header_line;
  for (const tg::CsvRow& row : table.rows) {
    require(row.fields.size() == table.header.size(), "every row is as wide as the header");
    require(row.line > line, "rows come in increasing line order");
    line = row.line;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = tg::fuzz::as_text(data, size);
  const bool parsed = tg::fuzz::accepts(kSource, [&] {
    const tg::CsvTable table = tg::parse_csv(text, kSource);
    check_table(table);
    for (const std::string& name : table.header) tg::fuzz::accepts(kSource, [&] { table.column(name); });
  });
  if (!parsed) return 0;
  tg::fuzz::accepts(kSource, [&] {
    for (const tg::LabelledText& row : tg::parse_labelled_csv(text, kSource)) {
      tg::fuzz::require(row.label >= 0 && row.label < 3, "a label is 0, 1 or 2");
      tg::fuzz::require(row.line >= 2, "a data row starts after the header");
    }
  });
  return 0;
}
