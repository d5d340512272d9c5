// Helpers shared by the tests against PyTorch's reference files in ../shared/fixtures
// (see its README): reading a file's arrays by key, comparing with a tolerance on the
// reference's scale, loading a model's weights by their state_dict names, and the files'
// training step (backward, clip_grad_norm(5), Adam).
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "autograd/autograd.hpp"
#include "nn/npz.hpp"
#include "nn/optim.hpp"

namespace tg::test {

struct Fixture {
  std::string path;
  tg::NpzContents arrays;

  template <class T>
  Array<T> get(const std::string& key) const {
    const auto it = arrays.find(key);
    if (it == arrays.end()) throw tg::Error(path + ": no array " + key);
    return it->second.as<T>(path + ": " + key);
  }
};

// Tolerance relative to the reference's scale: max |got − want| ≤ tol · max(1, max |want|).
// Returns max |got − want|, for tests that print a table of them.
template <class T>
double check_close(const std::string& what, const Array<T>& got, const Array<double>& want, double tol) {
  REQUIRE_MESSAGE(tg::shapes_equal(got.shape(), want.shape()),
                  what << ": shape " << tg::shape_str(got.shape()) << ", want " << tg::shape_str(want.shape()));
  double diff = 0, scale = 1;
  for (std::size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, std::abs(double(got.data()[i]) - want.data()[i]));
    scale = std::max(scale, std::abs(want.data()[i]));
  }
  CHECK_MESSAGE(diff <= tol * scale, what << ": max difference " << diff << " over scale " << scale);
  return diff;
}

// Loads the fixture's weights by name; every fixture parameter must be one of the model's.
template <class Model>
void load_weights(Model& model, const Fixture& f) {
  using T = typename std::remove_cvref_t<decltype(model.parameters()[0].value())>::value_type;
  std::size_t names = 0;
  for (auto& [name, p] : model.named_parameters()) {
    Array<T> value = f.get<T>(name);
    REQUIRE_MESSAGE(tg::shapes_equal(value.shape(), p.shape()), name << ": fixture " << tg::shape_str(value.shape()));
    p.mutable_value() = std::move(value);
    ++names;
  }
  std::size_t grads = 0;
  for (const auto& [key, _] : f.arrays) grads += key.rfind("grad.", 0) == 0;
  CHECK(grads == names);
}

// One training step as the fixtures' script: backward of the mean cross-entropy of
// model.forward(ids, lengths).pooled (the logits), clip_grad_norm(5), Adam. Returns the
// loss and the gradient norm before clipping.
template <class Model, class T>
std::pair<T, T> train_step(Model& model, tg::Adam<T>& adam, const Fixture& f) {
  adam.zero_grad();
  tg::Tape<T> tape;
  const Tensor<T> loss = tg::cross_entropy(model.forward(f.get<std::int64_t>("input.ids"),
                                                         f.get<std::int64_t>("input.lengths")).pooled,
                                           f.get<std::int64_t>("input.labels"));
  tape.backward(loss);
  const T norm = tg::clip_grad_norm(model.named_parameters(), 5.0);
  adam.step();
  return {loss.item(), norm};
}

}  // namespace tg::test
