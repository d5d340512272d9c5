// The synthetic airline-tweet generator and its CSV writer (models/ layer): word lists,
// a platform-independent random source, and the assembly of a tweet from clauses around
// one core clause. The knobs and the intended difficulty are in synthetic_tweets.hpp.
#include "models/data/synthetic_tweets.hpp"

#include "models/data/csv.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include <fmt/format.h>

#include "autograd/error.hpp"
#include "autograd/random.hpp"

namespace tg {
namespace {

using Words = std::vector<std::string>;

// Only std::mt19937_64's raw output is fixed by the standard; the distributions
// (std::uniform_int_distribution, std::uniform_real_distribution) and std::shuffle are
// implementation-defined and give different numbers on libstdc++, libc++ and MSVC. Every
// draw here is built on the raw 64-bit output, so a seed means the same tweets everywhere.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}

  // Uniform in [0, n): reject the 2^64 mod n lowest outputs so x % n is unbiased.
  std::size_t below(std::size_t n) {
    const std::uint64_t bound = n;
    const std::uint64_t threshold = (0 - bound) % bound;
    std::uint64_t x = engine_();
    while (x < threshold) x = engine_();
    return static_cast<std::size_t>(x % bound);
  }
  std::size_t between(std::size_t lo, std::size_t hi) { return lo + below(hi - lo + 1); }
  double unit() { return uniform01(engine_); }  // [0, 1)
  bool chance(double p) { return unit() < p; }

  template <class T, std::size_t N>
  const T& pick(const T (&items)[N]) { return items[below(N)]; }

  std::size_t weighted(std::span<const double> weights) {
    double total = 0;
    for (double w : weights) total += w;
    const double u = unit() * total;
    double cumulative = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) {
      cumulative += weights[i];
      if (u < cumulative) return i;
    }
    std::size_t last = weights.size() - 1;  // rounding left u past the sum: the last nonzero weight
    while (last > 0 && weights[last] <= 0) --last;
    return last;
  }

 private:
  std::mt19937_64 engine_;
};

struct Handle {
  std::string_view handle, airline;
  double weight;  // the real data's share of tweets, in percent
};
// Kaggle's file puts @JetBlue tweets under the airline "Delta"; the same six airline
// names keep the airline column valid for anything that checks it against the real data.
constexpr Handle kHandles[] = {
    {"@united", "United", 26},          {"@USAirways", "US Airways", 20},
    {"@AmericanAir", "American", 19},   {"@SouthwestAir", "Southwest", 17},
    {"@JetBlue", "Delta", 15},          {"@VirginAmerica", "Virgin America", 3}};

// Label 0 negative, 2 positive. No cue may start with a word a neutral clause ends with,
// or end with one a clause starts with ("great" + "flight ..." made "great flight"): the
// tests check that no tweet forms a cue other than its own.
constexpr SyntheticCue kCues[] = {
    {"terrible delay", 0, false}, {"lost my bag", 0, false}, {"worst airline ever", 0, false},
    {"horrible service", 0, false}, {"rude agent", 0, false}, {"so frustrated", 0, false},
    {"really disappointed", 0, false}, {"missed my connection", 0, false},
    {"stuck on the tarmac", 0, false}, {"flight cancelled again", 0, false},
    {"late again", 0, false}, {"bad experience", 0, false}, {"delayed for hours", 0, false},
    {"worst customer service", 0, false}, {"ruined my trip", 0, false},
    {"so many problems", 0, false},
    {"not great", 0, true}, {"not happy", 0, true}, {"not helpful", 0, true},
    {"not good", 0, true}, {"not impressed", 0, true}, {"not friendly", 0, true},
    {"never again", 0, true}, {"never on time", 0, true}, {"not the best", 0, true},
    {"no help at all", 0, true}, {"not okay", 0, true},
    {"great service", 2, false}, {"thank you so much", 2, false}, {"love it", 2, false},
    {"amazing crew", 2, false}, {"best flight ever", 2, false}, {"so helpful", 2, false},
    {"really happy", 2, false}, {"great crew", 2, false}, {"thanks for the upgrade", 2, false},
    {"excellent service", 2, false}, {"friendly staff", 2, false}, {"you rock", 2, false},
    {"awesome job", 2, false}, {"good job", 2, false}, {"impressed with the crew", 2, false},
    {"right on time", 2, false},
    {"not bad", 2, true}, {"not bad at all", 2, true}, {"no complaints", 2, true},
    {"no problems at all", 2, true}, {"never disappoints", 2, true}, {"no delay at all", 2, true},
    {"never late", 2, true}, {"not disappointed", 2, true}, {"can't complain", 2, true}};

// Neutral clauses; {slot}s are filled from the lists below. None holds a cue phrase.
constexpr std::string_view kStatements[] = {
    "i am flying from {city} to {city} on {day}", "my seat is {seat}",
    "flight {flight} out of {city}", "we board at {time} from gate {gate}",
    "heading home to {city} for the weekend", "connecting through {city} with {person}",
    "first trip with you this year", "sitting at gate {gate} with my laptop",
    "we are on the {plane} today", "booked this trip back in {month}",
    "travelling with {person} and two bags", "landed in {city} at {time}",
    "on the {time} flight to {city}", "going to {city} for a wedding on {day}",
    "flying out of {city} on {day} morning", "my confirmation code is in the app",
    "checked in online last night", "the boarding pass says seat {seat}",
    "we leave {city} at {time} on {day}", "this is my third trip to {city} since {month}",
    "i usually fly out of {city}", "{person} is on flight {flight} too",
    "back to {city} after a work trip", "just got to the airport in {city}",
    "the connection in {city} is at {time}", "flying to {city} and then on to {city}",
    "i am a member of your rewards program", "the app shows gate {gate} for flight {flight}",
    "picking up {person} in {city} at {time}", "my trip from {city} to {city} is next week",
    "the {plane} from {city} just pulled in", "i booked through your website in {month}",
    "my bags are checked through to {city}", "visiting {person} in {city} for a few days",
    "the flight takes about three hours", "my ticket was for the {time} departure",
    "we fly back to {city} on {day} night", "we are in the second boarding group"};
constexpr std::string_view kQuestions[] = {
    "can you tell me if flight {flight} leaves from gate {gate}?",
    "do you fly from {city} to {city}?", "how do i change my seat to {seat}?",
    "what is the baggage allowance on flight {flight}?", "when does the {month} schedule open?",
    "is there wifi on the {plane}?", "can i bring a car seat on board?",
    "how early should i get to the airport in {city}?", "please dm me the link to change my flight",
    "any plans for a new route to {city}?", "just booked flight {flight} to {city}",
    "i will be on the {time} flight to {city} on {day}", "following up on my dm from {day}",
    "which terminal do you use in {city}?", "can i change my flight to {day} without a fee?",
    "what time does boarding start for flight {flight}?", "is the {time} flight to {city} full?",
    "how do i add my rewards number to my booking?",
    "do you have a direct flight from {city} to {city} on {day}?",
    "where do i pick up my boarding pass in {city}?"};
// Questions holding cue words outside any cue, so that no single word decides a label.
constexpr std::string_view kDistractors[] = {
    "is there a delay on flight {flight}?", "will my bag make the connection in {city}?",
    "what time does the service desk open in {city}?", "not sure which terminal to use in {city}",
    "is the wifi any good on the {plane}?", "can you help me find gate {gate}?",
    "is it okay to bring my dog on board?", "never flown with you before, how do i check in?",
    "is flight {flight} on time today?", "how late is the counter open in {city}?",
    "is the crew on flight {flight} the same as {day}?", "thanks in advance",
    "any news on a refund for my bag fee?", "i will not need a checked bag on {day}",
    "no rush, just curious about the new routes", "best way to get from gate {gate} to gate {gate}?"};

constexpr std::string_view kCities[] = {
    "Boston", "Denver", "Chicago", "Dallas", "Houston", "Phoenix", "Seattle", "Atlanta",
    "Miami", "Orlando", "Newark", "Austin", "Nashville", "New York", "San Francisco",
    "Los Angeles", "Philadelphia", "Charlotte", "Baltimore", "Portland", "San Diego",
    "Las Vegas", "Salt Lake City", "Fort Lauderdale"};
constexpr std::string_view kDays[] = {"monday", "tuesday", "wednesday", "thursday",
                                      "friday", "saturday", "sunday"};
constexpr std::string_view kTimes[] = {"6am", "7am", "9am", "11am", "noon", "1pm",
                                       "3pm", "5pm", "6pm", "8pm", "10pm", "midnight"};
constexpr std::string_view kSeats[] = {"14c", "22a", "3f", "31b", "8d", "17e", "27a", "12c", "9b", "25f"};
constexpr std::string_view kGates[] = {"b12", "c4", "a21", "d7", "e3", "b30", "c17", "a5", "d22", "e9"};
constexpr std::string_view kMonths[] = {"january", "february", "march", "april", "may", "june", "july",
                                        "august", "september", "october", "november", "december"};
constexpr std::string_view kPlanes[] = {"a320", "737", "e175", "a321", "757", "crj"};
constexpr std::string_view kPeople[] = {"my wife", "my husband", "my mom", "my dad",
                                        "my son", "my daughter", "my boss", "my sister"};
constexpr std::string_view kHashtags[] = {"#travel", "#avgeek", "#flying", "#business",
                                          "#vacation", "#roadwarrior", "#airport", "#weekend"};
constexpr std::string_view kLeadIns[] = {"", "", "", "", "honestly", "seriously", "today", "guys", "just"};
constexpr std::string_view kSeparators[] = {",", ",", ".", ".", "!", " and"};
constexpr std::string_view kEndings[] = {"", "", ".", "!", "!!"};
constexpr std::size_t kFlightNumbers = 40;  // a pool, so each number recurs and stays in a min-count vocabulary
constexpr double kShoutRate = 0.10;         // cue in capitals: "NEVER AGAIN"
constexpr double kCapitaliseRate = 0.30;    // first word capitalised
constexpr double kHandleLastRate = 0.10;    // handle at the end instead of the start
constexpr std::size_t kOvershoot = 3;       // tokens a tweet may run past its target length
constexpr std::size_t kLongestFiller = 12;  // "i am flying from Salt Lake City to Fort Lauderdale on monday"
constexpr std::uint64_t kFirstTweetId = 700000000000000000;

// ---- The everyday phrase set (SyntheticPhrases::everyday) ----
// Sentiment words by polarity; the same things, intensifiers, "not" and "but" occur with
// both, so that only the words that judge, read in their scope, decide the label.
constexpr std::string_view kGoodWords[] = {
    "good", "great", "excellent", "amazing", "awesome", "wonderful", "fantastic", "nice",
    "perfect", "lovely", "pleasant", "smooth", "friendly", "helpful", "comfortable", "outstanding"};
constexpr std::string_view kBadWords[] = {
    "bad", "terrible", "awful", "horrible", "poor", "dreadful", "disappointing", "rude",
    "unhelpful", "uncomfortable", "disgusting", "useless", "unacceptable", "lousy", "pathetic", "ridiculous"};
// Bad words that, negated, read as praise ("not bad at all"); "not useless" would not.
constexpr std::string_view kMildBadWords[] = {"bad", "terrible", "awful", "horrible", "disappointing", "rude", "uncomfortable"};
constexpr std::string_view kGoodVerbs[] = {"loved", "liked", "enjoyed", "love", "like", "appreciated", "appreciate", "adore"};
constexpr std::string_view kBadVerbs[] = {"hated", "hate", "disliked", "dislike", "regret", "despise"};
constexpr std::string_view kLikeVerbs[] = {"like", "enjoy", "love", "appreciate"};  // after "did not", "don't"
constexpr std::string_view kThings[] = {
    "flight", "crew", "service", "staff", "food", "seat", "trip", "pilot", "agent", "airline",
    "experience", "plane", "boarding", "legroom", "wifi", "customer service", "check in", "flight attendant"};
constexpr std::string_view kIntensifiers[] = {"", "", "", "", "very", "really", "so", "super", "truly",
                                              "extremely", "absolutely", "pretty", "quite"};
constexpr std::string_view kWas[] = {"was", "is", "was", "is", "has been"};
constexpr std::string_view kWasNot[] = {"was not", "is not", "wasn't", "isn't", "was never", "has not been"};
constexpr std::string_view kDidNot[] = {"did not", "didn't", "don't", "do not", "never"};
// A typo a tweet might hold instead of the word; each common enough to stay in the vocabulary.
constexpr std::pair<std::string_view, std::string_view> kTypos[] = {
    {"terrible", "terible"},   {"horrible", "horible"},   {"awesome", "awsome"},
    {"amazing", "amazng"},     {"great", "gr8"},          {"excellent", "excelent"},
    {"disappointing", "dissapointing"}, {"ridiculous", "rediculous"}, {"really", "realy"},
    {"love", "luv"},           {"loved", "luved"},        {"comfortable", "comfy"},
    {"unacceptable", "unaceptable"}, {"service", "servic"}, {"terrible", "terribel"}};
constexpr std::string_view kGoodEmoji[] = {"\U0001F60A", "\U0001F44D", "\u2764\uFE0F", "\U0001F64C", ":)"};
constexpr std::string_view kBadEmoji[] = {"\U0001F621", "\U0001F44E", "\U0001F624", "\U0001F612", ":("};
// Neutral cores about the same things, judging nothing.
constexpr std::string_view kThingStatements[] = {
    "the crew changed in {city}", "the food cart came by at {time}", "the pilot said we land at {time}",
    "the flight was full", "the agent gave me a new boarding pass", "the plane was a {plane}",
    "the service desk is by gate {gate}", "the staff asked us to board by group",
    "is the food free on flight {flight}?", "does the crew on flight {flight} change in {city}?",
    "the trip takes about five hours", "is there wifi on this plane?", "the seat next to me is {seat}",
    "what is the legroom like on the {plane}?", "how does boarding work for flight {flight}?",
    "who do i ask about the check in for flight {flight}?", "the airline moved my flight to {time}",
    "did the crew change in {city}?", "i did the check in on the app", "did my bag make it to {city}?"};
constexpr double kContrastRate = 0.12;  // everyday cores that are "... but ..."
constexpr double kBareRate = 0.20;      // everyday tweets that are the core alone (and the handle)
constexpr double kThingNeutralRate = 0.35;  // everyday neutral cores from kThingStatements
constexpr double kTypoRate = 0.08;      // per word that has a typo in kTypos
constexpr double kEmojiRate = 0.15;     // everyday cores followed by an emoji of their polarity

constexpr std::string_view kFamilies[] = {
    "sentiment words alone or with an intensifier (\"so bad\", \"really great\")",
    "about a thing (\"the crew was rude\", \"terrible food\", \"i loved the service\", \"best flight ever\")",
    "negated a few words before the word (\"the seat was not very comfortable\", \"i did not enjoy the trip\")",
    "contrast (\"the food was bad but the crew was great\": the clause after \"but\" decides)",
    "common typos (\"terible\", \"awsome\") and emoji"};

void append_split(Words& out, std::string_view text) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) out.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
}

std::string slot_value(std::string_view name, Rng& rng) {
  if (name == "city") return std::string(rng.pick(kCities));
  if (name == "day") return std::string(rng.pick(kDays));
  if (name == "time") return std::string(rng.pick(kTimes));
  if (name == "seat") return std::string(rng.pick(kSeats));
  if (name == "gate") return std::string(rng.pick(kGates));
  if (name == "month") return std::string(rng.pick(kMonths));
  if (name == "plane") return std::string(rng.pick(kPlanes));
  if (name == "person") return std::string(rng.pick(kPeople));
  if (name == "flight") return std::to_string(100 + 61 * rng.below(kFlightNumbers));
  if (name == "thing") return std::string(rng.pick(kThings));
  throw Error(fmt::format("synthetic_tweets.cpp: unknown template slot {{{}}}", name));
}

// "landed in {city} at {time}?" -> words, a slot's trailing punctuation kept after it.
Words expand(std::string_view pattern, Rng& rng) {
  Words raw, out;
  append_split(raw, pattern);
  for (const std::string& word : raw) {
    const std::size_t close = word.find('}');
    if (word.front() != '{' || close == std::string::npos) {
      out.push_back(word);
      continue;
    }
    append_split(out, slot_value(std::string_view(word).substr(1, close - 1), rng));
    out.back() += word.substr(close + 1);
  }
  return out;
}

struct Clause {
  Words words;
  std::string_view pattern;  // the template or cue it came from, so none repeats in a tweet
};

const SyntheticCue& pick_cue(int label, bool negated, Rng& rng) {
  std::vector<const SyntheticCue*> matching;
  for (const SyntheticCue& cue : kCues)
    if (cue.label == label && cue.negated == negated) matching.push_back(&cue);
  return *matching[rng.below(matching.size())];
}

Clause cue_clause(const SyntheticCue& cue, Rng& rng) {
  Clause clause{{}, cue.phrase};
  append_split(clause.words, rng.pick(kLeadIns));
  const std::size_t first = clause.words.size();
  append_split(clause.words, cue.phrase);
  if (rng.chance(kShoutRate))
    for (std::size_t i = first; i < clause.words.size(); ++i)
      for (char& c : clause.words[i]) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return clause;
}

Clause neutral_clause(bool question, const SyntheticOptions& options, Rng& rng) {
  const std::string_view pattern = rng.chance(options.distractor_rate) ? rng.pick(kDistractors)
                                   : question                          ? rng.pick(kQuestions)
                                                                       : rng.pick(kStatements);
  return {expand(pattern, rng), pattern};
}

// ---- Everyday cores: phrases composed from kGoodWords, kBadWords, kThings, ... ----
// polarity 0 negative, 2 positive; `plain` judges with words of that polarity, `negated`
// with words of the other one under a "not" one to four words before them.
std::string plain_phrase(int polarity, Rng& rng) {
  const bool good = polarity == 2;
  const std::string word(good ? rng.pick(kGoodWords) : rng.pick(kBadWords));
  const std::string very(rng.pick(kIntensifiers)), thing(rng.pick(kThings));
  const std::string verb(good ? rng.pick(kGoodVerbs) : rng.pick(kBadVerbs));
  switch (rng.below(7)) {
    case 0: return very + " " + word;
    case 1: return "the " + thing + " " + std::string(rng.pick(kWas)) + " " + very + " " + word;
    case 2: return very + " " + word + " " + thing;
    case 3: return "i " + verb + " the " + thing;
    case 4: return "i " + verb + (rng.chance(0.5) ? " it" : " this airline");
    case 5: return std::string(good ? "best " : "worst ") + thing + " ever";
    default: return "what a " + word + " " + thing;
  }
}

std::string negated_phrase(int polarity, Rng& rng) {
  const bool praise = polarity == 2;  // "not bad": a bad word, negated
  const std::string word(praise ? rng.pick(kMildBadWords) : rng.pick(kGoodWords));
  const std::string very(rng.pick(kIntensifiers)), thing(rng.pick(kThings));
  switch (rng.below(praise ? 5 : 6)) {
    case 0: return "not " + very + " " + word + (praise && rng.chance(0.5) ? " at all" : "");
    case 1: return "the " + thing + " " + std::string(rng.pick(kWasNot)) + " " + very + " " + word;
    case 2: return "not a " + word + " " + thing;
    case 3: return "i would not call the " + thing + " " + word;
    case 4: return praise ? "the " + thing + " was not " + word + " at all"
                          : "i " + std::string(rng.pick(kDidNot)) + " " + std::string(rng.pick(kLikeVerbs)) + " the " + thing;
    default: return "i " + std::string(rng.pick(kDidNot)) + " " + std::string(rng.pick(kLikeVerbs)) + " it";
  }
}

std::string judging_phrase(int polarity, const SyntheticOptions& options, Rng& rng) {
  return rng.chance(options.negation_rate) ? negated_phrase(polarity, rng) : plain_phrase(polarity, rng);
}

void add_typos(Words& words, Rng& rng) {
  for (std::string& word : words)
    for (const auto& [right, typo] : kTypos)
      if (word == right && rng.chance(kTypoRate)) {
        word = typo;
        break;
      }
}

// The core of an everyday tweet of label 0 or 2; `cue_words` gets its words as written.
Clause everyday_cue_clause(int label, const SyntheticOptions& options, Rng& rng, Words& cue_words) {
  std::string phrase = judging_phrase(label, options, rng);
  if (rng.chance(kContrastRate)) phrase = plain_phrase(2 - label, rng) + " but " + phrase;
  Clause clause{{}, "everyday cue"};
  append_split(clause.words, rng.pick(kLeadIns));
  const std::size_t first = clause.words.size();
  append_split(clause.words, phrase);
  add_typos(clause.words, rng);
  cue_words.assign(clause.words.begin() + std::ptrdiff_t(first), clause.words.end());
  if (rng.chance(kShoutRate))
    for (std::size_t i = first; i < clause.words.size(); ++i)
      for (char& c : clause.words[i]) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (rng.chance(kEmojiRate))  // a word of its own that the canonical tokenizer drops
    clause.words.back() += fmt::format(" {}", label == 2 ? rng.pick(kGoodEmoji) : rng.pick(kBadEmoji));
  return clause;
}

std::size_t target_length(const SyntheticOptions& options, Rng& rng) {
  const std::size_t lo = rng.chance(options.long_rate) ? options.long_tokens : options.min_tokens;
  return rng.between(lo, options.max_tokens);
}

// Where the core goes among n filler clauses: 0 = first, n = last.
std::size_t core_position(std::size_t n, const SyntheticOptions& options, Rng& rng) {
  const double u = rng.unit();
  if (u < options.early_cue_rate) return 0;
  if (u < options.early_cue_rate + options.late_cue_rate) return n;
  return rng.below(n + 1);
}

// Clauses joined by separators, the handle at one end, extras (URL, hashtag) last.
// `spare` is how many words may be added (an "and" between clauses is one).
std::string render(const std::vector<Clause>& clauses, const Words& extras,
                   std::string_view handle, std::size_t spare, Rng& rng) {
  Words words;
  for (std::size_t i = 0; i < clauses.size(); ++i) {
    for (const std::string& word : clauses[i].words) words.push_back(word);
    const char last = words.back().back();
    if (last == '?' || last == '!' || last == '.' || last == ',') continue;
    const std::string_view sep = i + 1 < clauses.size() ? rng.pick(kSeparators) : rng.pick(kEndings);
    if (sep != " and") {
      words.back() += sep;
    } else if (spare > 0) {
      words.emplace_back("and");
      --spare;
    } else {
      words.back() += ",";
    }
  }
  if (rng.chance(kCapitaliseRate)) words.front()[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(words.front()[0])));
  const bool handle_last = rng.chance(kHandleLastRate);
  std::string text = handle_last ? "" : std::string(handle) + " ";
  for (const std::string& word : words) text += word + " ";
  for (const std::string& extra : extras) text += extra + " ";
  if (handle_last) text += std::string(handle) + " ";
  text.pop_back();
  return text;
}

// Filler until a target length; a clause that would overshoot it by more than a few
// tokens, pass max_tokens or repeat a template is redrawn, so lengths follow the target.
void add_fillers(std::vector<Clause>& clauses, std::size_t& used, const SyntheticOptions& options, Rng& rng) {
  const std::size_t target = target_length(options, rng);
  const std::size_t limit = std::min(target + kOvershoot, options.max_tokens);
  for (int misses = 0; used < target;) {
    Clause filler = neutral_clause(false, options, rng);
    // After 8 misses only max_tokens binds; min_tokens + kLongestFiller <= max_tokens
    // (checked) means any clause then fits, so a tweet always reaches min_tokens.
    const bool repeated = std::any_of(clauses.begin(), clauses.end(),
                                      [&](const Clause& c) { return c.pattern == filler.pattern; });
    if (repeated || used + filler.words.size() > (misses < 8 ? limit : options.max_tokens)) {
      if (++misses >= 8 && used >= options.min_tokens) break;
      continue;
    }
    used += filler.words.size();
    clauses.push_back(std::move(filler));
  }
}

std::string short_url(Rng& rng) {
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string url = "http://t.co/";
  for (int i = 0; i < 10; ++i) url += kAlphabet[rng.below(kAlphabet.size())];
  return url;
}

std::span<const double> handle_weights() {
  static const auto weights = [] {
    std::array<double, std::size(kHandles)> w{};
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = kHandles[i].weight;
    return w;
  }();
  return weights;
}

SyntheticTweet make_tweet(const SyntheticOptions& options, Rng& rng) {
  const double shares[] = {options.negative_share, options.neutral_share, options.positive_share};
  SyntheticTweet tweet;
  tweet.label = static_cast<int>(rng.weighted(shares));
  const Handle& handle = kHandles[rng.weighted(handle_weights())];
  Clause core{};
  const bool everyday = options.phrases == SyntheticPhrases::everyday;  // no draw below when classic
  if (everyday && tweet.label == 1 && rng.chance(kThingNeutralRate)) {
    const std::string_view pattern = rng.pick(kThingStatements);
    core = {expand(pattern, rng), pattern};
  } else if (tweet.label == 1) {
    core = neutral_clause(true, options, rng);
  } else if (everyday) {
    core = everyday_cue_clause(tweet.label, options, rng, tweet.cue_words);
  } else {
    const SyntheticCue& cue = pick_cue(tweet.label, rng.chance(options.negation_rate), rng);
    core = cue_clause(cue, rng);
    append_split(tweet.cue_words, cue.phrase);
  }
  const bool bare = everyday && rng.chance(kBareRate);  // as short as a user's own sentence
  Words extras;
  if (!bare && rng.chance(options.hashtag_rate)) extras.emplace_back(rng.pick(kHashtags));
  if (!bare && rng.chance(options.url_rate)) extras.push_back(short_url(rng));

  std::vector<Clause> clauses = {std::move(core)};
  std::size_t used = 1 + clauses[0].words.size() + extras.size();
  if (!bare) add_fillers(clauses, used, options, rng);
  std::rotate(clauses.begin(), clauses.begin() + 1,
              clauses.begin() + 1 + core_position(clauses.size() - 1, options, rng));
  tweet.text = render(clauses, extras, handle.handle, options.max_tokens - used, rng);

  if (rng.chance(options.label_noise)) {
    tweet.label = (tweet.label + 1 + static_cast<int>(rng.below(2))) % 3;
    tweet.flipped = true;
  }
  return tweet;
}

void require(bool ok, const std::string& what) {
  if (!ok) throw Error("generate_tweets: option " + what);
}

void check_options(const SyntheticOptions& o) {
  for (auto [v, name] : {std::pair{o.negative_share, "negative_share"}, {o.neutral_share, "neutral_share"},
                         {o.positive_share, "positive_share"}})
    require(v >= 0.0 && std::isfinite(v), fmt::format("{} = {} is not a non-negative weight", name, v));
  require(o.negative_share + o.neutral_share + o.positive_share > 0.0,
          "negative_share, neutral_share and positive_share are all 0");
  for (auto [v, name] : {std::pair{o.label_noise, "label_noise"}, {o.negation_rate, "negation_rate"},
                         {o.early_cue_rate, "early_cue_rate"}, {o.late_cue_rate, "late_cue_rate"},
                         {o.distractor_rate, "distractor_rate"}, {o.url_rate, "url_rate"},
                         {o.hashtag_rate, "hashtag_rate"}, {o.long_rate, "long_rate"}})
    require(v >= 0.0 && v <= 1.0, fmt::format("{} = {} is not in [0, 1]", name, v));
  require(o.early_cue_rate + o.late_cue_rate <= 1.0,
          fmt::format("early_cue_rate + late_cue_rate = {} exceeds 1", o.early_cue_rate + o.late_cue_rate));
  require(o.max_tokens >= 20 && o.max_tokens <= 48, fmt::format("max_tokens = {} is not in [20, 48]", o.max_tokens));
  require(o.min_tokens >= 1 && o.min_tokens + kLongestFiller <= o.max_tokens,
          fmt::format("min_tokens = {} is not in [1, max_tokens - {}]", o.min_tokens, kLongestFiller));
  require(o.long_tokens >= o.min_tokens && o.long_tokens <= o.max_tokens,
          fmt::format("long_tokens = {} is not in [min_tokens, max_tokens]", o.long_tokens));
}

std::string csv_field(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string quoted = "\"";
  for (char c : field) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string_view airline_of(std::string_view text) {
  for (const Handle& h : kHandles)
    if (text.find(h.handle) != std::string_view::npos) return h.airline;
  return "";
}

std::string csv_text(const std::vector<SyntheticTweet>& tweets) {
  static constexpr std::string_view kLabelNames[] = {"negative", "neutral", "positive"};
  std::string out = "tweet_id,airline_sentiment,airline,text\r\n";
  for (std::size_t i = 0; i < tweets.size(); ++i) {
    const SyntheticTweet& t = tweets[i];
    if (t.label < 0 || t.label > 2)
      throw Error(fmt::format("write_synthetic_csv: tweet {} has label {} (expected 0, 1 or 2)", i, t.label));
    out += fmt::format("{},{},{},{}\r\n", kFirstTweetId + i, kLabelNames[t.label],
                       csv_field(airline_of(t.text)), csv_field(t.text));
  }
  return out;
}

}  // namespace

std::vector<SyntheticTweet> generate_tweets(std::size_t count, std::uint64_t seed,
                                            const SyntheticOptions& options) {
  check_options(options);
  Rng rng(seed);
  std::vector<SyntheticTweet> tweets;
  tweets.reserve(count);
  for (std::size_t i = 0; i < count; ++i) tweets.push_back(make_tweet(options, rng));
  return tweets;
}

std::span<const SyntheticCue> synthetic_cues() { return kCues; }

std::span<const std::string_view> everyday_phrase_families() { return kFamilies; }

SyntheticOptions everyday_synthetic_options() {
  SyntheticOptions options;
  options.phrases = SyntheticPhrases::everyday;
  options.negative_share = 0.40;
  options.neutral_share = 0.25;
  options.positive_share = 0.35;
  options.negation_rate = 0.15;
  return options;
}

void write_synthetic_csv(const std::string& path, const std::vector<SyntheticTweet>& tweets) {
  write_file(path, csv_text(tweets));  // atomic: a temporary beside `path`, fsynced, renamed over it
}

}  // namespace tg
