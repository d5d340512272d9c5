// The encoder and pooling registries: the sentiment classifier is
// Embedding → encoder → pooling → Linear, and its encoder and pooling are chosen by name
// from here. An entry says everything the rest of the program needs about its layer —
// how to build it from the model's configuration, its output size, its own settings and
// what the resource limits need — so the CLI, `compare`, checkpoints, the limits and the
// report pick up a new layer without being edited (docs/extending.md).
//
// Registering: the library's own entries are one line each in models/classifier/entries.def, their
// code in models/classifier/encoders/NAME.cpp and models/classifier/poolings/NAME.cpp. A program (a lesson, a
// test) registers its own with one line in its own file:
//     static const tg::EncoderRegistrar registered(my_encoder_entry());
// Registration happens while the program starts; the registries are only read afterwards.
// Legend: B batch, T time, E embedding, H hidden, D encoder output size.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "models/classifier/classifier_config.hpp"
#include "nn/encoder.hpp"
#include "nn/pooling.hpp"

namespace tg {

// A layer built for both element types the library instantiates (float to train,
// double for gradient checks and the PyTorch fixtures).
template <template <class> class Layer, class... Args>
struct Factory {
  std::function<std::unique_ptr<Layer<float>>(Args...)> for_float;
  std::function<std::unique_ptr<Layer<double>>(Args...)> for_double;

  template <class T>
  std::unique_ptr<Layer<T>> make(Args... args) const {
    if constexpr (std::is_same_v<T, float>) return for_float(args...);
    else return for_double(args...);
  }
};

// An encoder's own setting, stored in ClassifierConfig::encoder_settings and config.json's
// "model.encoder_settings", set on the command line with --encoder-setting NAME=VALUE.
struct EncoderSetting {
  std::string name;
  std::string description;
  double default_value = 0;
  double low = 0, high = 0;  // the accepted range, both ends included (Note [Resource limits])
  bool integer = true;
};

// What the `default` recipe trains this encoder with in place of its own settings (the
// LSTM's, models/training/trainer.cpp); 0 keeps the recipe's. --lr and --warmup still override either.
struct EncoderTraining {
  double lr = 0;      // the peak learning rate
  double warmup = 0;  // fraction of all steps that ramps up to it (TrainOptions::warmup)
};

struct EncoderEntry {
  std::string name;         // --encoder NAME, config.json's "model.encoder"
  std::string description;  // one line, for --help and the model description
  // The module's name in the classifier, which prefixes its parameters as PyTorch's
  // state_dict does ("lstm" → lstm.weight_ih_l0). Empty: no prefix, its children's names
  // sit at the model's top level (a Transformer's "position.weight" beside "transformer.…").
  std::string module_name;
  std::vector<EncoderSetting> settings;
  // Builds the encoder over E = config.embedding_dim inputs, drawing its initial weights
  // from `rng` (the classifier's, after the embedding's).
  Factory<Encoder, const ClassifierConfig&, std::mt19937_64&> make;
  // D, without building it: the pooling and the classifier's widths.
  std::function<std::size_t(const ClassifierConfig&)> output_size;
  // Its exact parameter count (its named_parameters() sizes summed; tests/test_registry.cpp
  // checks it against the built layer), known before a single weight is allocated.
  std::function<std::uint64_t(const ClassifierConfig&)> parameter_count;
  // Floats one sequence of `steps` tokens holds while it runs, estimated from above:
  // `recording` (training), every intermediate value and its gradient on the tape;
  // otherwise only the tensors alive at once. The embedding's share is counted apart.
  std::function<std::uint64_t(const ClassifierConfig&, std::size_t steps, bool recording)> activation_floats;
  EncoderTraining default_training;  // the `default` recipe's settings for it; {}: the recipe's
};

struct PoolingEntry {
  std::string name;         // --pooling NAME, config.json's "model.pooling"
  std::string description;  // one line
  std::string module_name;  // as EncoderEntry's ("attention", or "pooling" for one without parameters)
  // Builds the pooling over the encoder's states: D = dim, and whether their second half
  // runs backwards in time (Encoder::reversed_half).
  Factory<Pooling, const ClassifierConfig&, std::size_t, bool, std::mt19937_64&> make;
  std::function<std::uint64_t(std::size_t dim)> parameter_count;  // over D = dim
  // Floats per sequence of `steps` tokens beyond the encoder's, as EncoderEntry's.
  std::function<std::uint64_t(std::size_t dim, std::size_t steps, bool recording)> activation_floats;
};

// Adds an entry; throws when its name is taken or it lacks a function.
void register_encoder(EncoderEntry entry);
void register_pooling(PoolingEntry entry);

// The entry of that name; an unknown name throws one line listing the known ones:
// `unknown encoder "rnn" (known: lstm, gru)`.
const EncoderEntry& encoder_entry(std::string_view name);
const PoolingEntry& pooling_entry(std::string_view name);
std::vector<std::string> encoder_names();  // in registration order: the built-in ones first
std::vector<std::string> pooling_names();
// "lstm, gru": for help texts and messages.
std::string encoder_list();
std::string pooling_list();

// The value of an encoder setting in `config`, or its default (the name must be declared).
double encoder_setting(const ClassifierConfig& config, std::string_view name);
// Throws naming the setting when `config` has one `entry` does not declare, or a value
// out of its range.
void check_encoder_settings(const EncoderEntry& entry, const ClassifierConfig& config);

// A program's own entry, registered by one static object in its own file.
struct EncoderRegistrar {
  explicit EncoderRegistrar(EncoderEntry entry) { register_encoder(std::move(entry)); }
};
struct PoolingRegistrar {
  explicit PoolingRegistrar(PoolingEntry entry) { register_pooling(std::move(entry)); }
};

}  // namespace tg
