// The encoder and pooling registries (see registry.hpp).
#include "models/classifier/registry.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "autograd/error.hpp"

namespace tg {

#define TG_ENCODER(name) EncoderEntry name##_encoder();
#define TG_POOLING(name) PoolingEntry name##_pooling();
#include "models/classifier/entries.def"
#undef TG_ENCODER
#undef TG_POOLING

namespace {

template <class Entry>
void add(std::vector<Entry>& entries, Entry entry, std::string_view kind) {
  if (entry.name.empty()) throw Error(fmt::format("register_{}: an entry needs a name", kind));
  for (const Entry& e : entries)
    if (e.name == entry.name) throw Error(fmt::format("register_{}: \"{}\" is already registered", kind, entry.name));
  if (!entry.make.for_float || !entry.make.for_double || !entry.parameter_count || !entry.activation_floats)
    throw Error(fmt::format("register_{}: \"{}\" lacks a factory, a parameter count or an activation estimate", kind,
                            entry.name));
  entries.push_back(std::move(entry));
}

// Built on first use, so that a program's static registrars (which may run first) find
// the built-in entries already there.
std::vector<EncoderEntry>& encoders() {
  static std::vector<EncoderEntry> entries = [] {
    std::vector<EncoderEntry> v;
#define TG_ENCODER(name) add(v, name##_encoder(), "encoder");
#define TG_POOLING(name)
#include "models/classifier/entries.def"
#undef TG_ENCODER
#undef TG_POOLING
    return v;
  }();
  return entries;
}

std::vector<PoolingEntry>& poolings() {
  static std::vector<PoolingEntry> entries = [] {
    std::vector<PoolingEntry> v;
#define TG_ENCODER(name)
#define TG_POOLING(name) add(v, name##_pooling(), "pooling");
#include "models/classifier/entries.def"
#undef TG_ENCODER
#undef TG_POOLING
    return v;
  }();
  return entries;
}

template <class Entry>
std::vector<std::string> names(const std::vector<Entry>& entries) {
  std::vector<std::string> out;
  for (const Entry& e : entries) out.push_back(e.name);
  return out;
}

template <class Entry>
const Entry& find(const std::vector<Entry>& entries, std::string_view name, std::string_view kind) {
  for (const Entry& e : entries)
    if (e.name == name) return e;
  throw Error(fmt::format("unknown {} \"{}\" (known: {})", kind, name, fmt::join(names(entries), ", ")));
}

}  // namespace

void register_encoder(EncoderEntry entry) {
  if (!entry.output_size) throw Error(fmt::format("register_encoder: \"{}\" lacks an output size", entry.name));
  add(encoders(), std::move(entry), "encoder");
}
void register_pooling(PoolingEntry entry) { add(poolings(), std::move(entry), "pooling"); }

const EncoderEntry& encoder_entry(std::string_view name) { return find(encoders(), name, "encoder"); }
const PoolingEntry& pooling_entry(std::string_view name) { return find(poolings(), name, "pooling"); }
std::vector<std::string> encoder_names() { return names(encoders()); }
std::vector<std::string> pooling_names() { return names(poolings()); }
std::string encoder_list() { return fmt::format("{}", fmt::join(encoder_names(), ", ")); }
std::string pooling_list() { return fmt::format("{}", fmt::join(pooling_names(), ", ")); }

double encoder_setting(const ClassifierConfig& config, std::string_view name) {
  const EncoderEntry& entry = encoder_entry(config.encoder);
  for (const EncoderSetting& s : entry.settings) {
    if (s.name != name) continue;
    const auto it = config.encoder_settings.find(s.name);
    return it == config.encoder_settings.end() ? s.default_value : it->second;
  }
  throw Error(fmt::format("encoder \"{}\" has no setting \"{}\"", entry.name, name));
}

void check_encoder_settings(const EncoderEntry& entry, const ClassifierConfig& config) {
  for (const auto& setting : config.encoder_settings) {
    const std::string& name = setting.first;  // clang < 16 cannot capture a structured binding
    const double value = setting.second;
    const auto s = std::find_if(entry.settings.begin(), entry.settings.end(),
                                [&](const EncoderSetting& k) { return k.name == name; });
    if (s == entry.settings.end()) {
      std::vector<std::string> known;
      for (const EncoderSetting& k : entry.settings) known.push_back(k.name);
      throw Error(fmt::format("encoder \"{}\" has no setting \"{}\" ({})", entry.name, name,
                              known.empty() ? "it has none" : fmt::format("its settings: {}", fmt::join(known, ", "))));
    }
    if (!(value >= s->low && value <= s->high) || (s->integer && value != std::floor(value)))
      throw Error(fmt::format("encoder \"{}\": setting \"{}\" is {}, expected {} in [{}, {}]", entry.name, name, value,
                              s->integer ? "an integer" : "a number", s->low, s->high));
  }
}

}  // namespace tg
