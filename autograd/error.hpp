// tapegrad's one exception type. Every error a user can cause (a bad shape, a bad
// file, a bad option) throws tg::Error with a message naming the op, file, line or
// parameter at fault; nothing is checked by assert alone.
#pragma once
#include <stdexcept>
#include <string>

namespace tg {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace tg
