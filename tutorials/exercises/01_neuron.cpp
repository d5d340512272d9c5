// Exercise 1: the chain rule on one neuron, y = tanh(w·x + b), one link at a time.
//
//   cmake --build build --target 01_neuron_exercise && build/01_neuron_exercise
//
// Replace each `tg::todo();` with the link's formula and run again: the lesson grades every
// link against the tape's gradient right after it is derived (✓ exact, ✓ close, ✗ WRONG,
// · not yet written), and exits 0 once all are right. A wrong link is replaced by the tape's
// value, so the links after it are still graded on their own. The answers are in
// tutorials/01_neuron.cpp. This file is #included by that lesson: `Array` (xt::xarray) and
// xtensor's functions are in scope.
//
// The forward pass, one op per line (x, w have 3 elements; b, s, z, y are scalars):
//   p = w ⊙ x      p_i = w_i x_i
//   s = Σ_i p_i
//   z = s + b
//   y = tanh z
// Every gradient below is dy/d(something); y is the forward value tanh z.

// y = tanh z: dy/dz from y alone (tanh' = ?)
double dz_by_hand(double y) {
  // TODO
  tg::todo();
}

// z = s + b: dy/db from dy/dz
double db_by_hand(double dz) {
  // TODO
  tg::todo();
}

// z = s + b: dy/ds from dy/dz
double ds_by_hand(double dz) {
  // TODO
  tg::todo();
}

// s = Σ_i p_i: dy/dp, an array shaped like p (hint: xt::ones_like(p))
Array<double> dp_by_hand(double ds, const Array<double>& p) {
  // TODO
  tg::todo();
}

// p_i = w_i x_i: dy/dw from dy/dp
Array<double> dw_by_hand(const Array<double>& dp, const Array<double>& x) {
  // TODO
  tg::todo();
}

// p_i = w_i x_i: dy/dx from dy/dp
Array<double> dx_by_hand(const Array<double>& dp, const Array<double>& w) {
  // TODO
  tg::todo();
}
