// The one uniform draw every seeded thing uses (initialisation, dropout, gradcheck's
// upstream gradient, the synthetic data, the tests). std::uniform_real_distribution is
// implementation-defined; this transform is not, so a seed gives the same numbers with
// every standard library.
#pragma once
#include <random>

namespace tg {

// Uniform in [0, 1) from the top 53 bits of one draw of std::mt19937_64.
inline double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

}  // namespace tg
