// Terminal and file helpers of the `sentiment` program: is stdout a terminal, may it
// get colour, and a word shaded by its attention weight.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "sentiment.hpp"

namespace tg::cli {

bool stdout_is_terminal() { return isatty(STDOUT_FILENO) == 1; }

// https://no-color.org: NO_COLOR set to anything but the empty string turns colour off.
bool colour_enabled(bool no_color_flag) {
  const char* no_color = std::getenv("NO_COLOR");
  return !no_color_flag && !(no_color && *no_color) && stdout_is_terminal();
}

// Paper white at weight 0 to a strong orange at weight 1, the text always black, so a
// shaded word reads the same on dark and light terminals.
std::string shade(const std::string& text, double weight) {
  const double w = std::clamp(std::isfinite(weight) ? weight : 0.0, 0.0, 1.0);
  const auto channel = [w](int from, int to) { return int(std::lround(from + (to - from) * w)); };
  return fmt::format("\x1b[48;2;{};{};{};38;2;0;0;0m{}\x1b[0m", channel(255, 245), channel(255, 130),
                     channel(255, 30), text);
}

}  // namespace tg::cli
