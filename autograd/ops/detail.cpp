// Shape checks shared by the op files.
#include "autograd/ops/detail.hpp"

namespace tg::detail {

Shape broadcast_shape(const char* op, const char* symbol, const Shape& a, const Shape& b) {
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    // Align trailing axes; a missing leading axis counts as 1.
    const std::size_t da = i + a.size() >= rank ? a[i + a.size() - rank] : 1;
    const std::size_t db = i + b.size() >= rank ? b[i + b.size() - rank] : 1;
    if (da != db && da != 1 && db != 1)
      throw Error(fmt::format("{}: {} {} {} do not broadcast", op, shape_str(a), symbol, shape_str(b)));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

void check_axis(const char* op, std::size_t axis, const Shape& shape) {
  if (axis >= shape.size())
    throw Error(fmt::format("{}: axis {} out of range for shape {}", op, axis, shape_str(shape)));
}

}  // namespace tg::detail
