// What every tapegrad fuzz target shares. Bad input may only be refused with a
// tg::Error whose message names the input (the documented clean rejection); any
// other exception, or a broken invariant, aborts, which libFuzzer reports as a crash
// and saves the input. Crashes, leaks, hangs and sanitizer reports need no code here.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <span>
#include <string_view>

#include "autograd/error.hpp"

namespace tg::fuzz {

[[noreturn]] inline void finding(std::string_view what, std::string_view detail = {}) {
  std::fprintf(stderr, "\nFUZZ FINDING: %.*s\n  %.*s\n", int(what.size()), what.data(), int(detail.size()),
               detail.data());
  std::abort();
}

inline void require(bool ok, std::string_view invariant) {
  if (!ok) finding("broken invariant", invariant);
}

// Runs `body`; returns true when it finished, false when it threw a tg::Error whose
// message contains `name` (the file, or the function, the message must point at).
template <class Body>
bool accepts(std::string_view name, Body&& body) {
  try {
    body();
    return true;
  } catch (const tg::Error& e) {
    if (std::string_view(e.what()).find(name) == std::string_view::npos)
      finding("a tg::Error that does not name the input", e.what());
  } catch (const std::exception& e) {
    finding("an exception other than tg::Error", e.what());
  } catch (...) {
    finding("an exception that is not even a std::exception");
  }
  return false;
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

inline std::span<const std::byte> as_bytes(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const std::byte*>(data), size};
}

}  // namespace tg::fuzz
