// Exercise mode: derive the backward yourself, one chain-rule link at a time, and have
// the lesson grade each link right after it is derived (makemore part 4's cmp()):
//
//   ✓ exact               bit for bit the tape's gradient
//   ✓ close (max diff)    within the lesson's tolerance (the same sums, rounded in another order)
//   ✗ WRONG (max diff)    further off, a different shape, or the function threw
//   · not yet written     the function still calls tg::todo()
//
// A lesson's hand-derived links are plain functions. The lesson file holds the answers; the
// stub tutorials/exercises/NN_name.cpp holds the same signatures with `tg::todo();` bodies,
// and the build makes NN_name_exercise from the lesson with the stub #included instead
// (CMakeLists.txt: one target per stub, compiled with TG_EXERCISE_FILE="…/NN_name.cpp").
//
// Usage in a lesson:
//
//   #include "exercise.hpp"
//   #ifdef TG_EXERCISE_FILE
//   #include TG_EXERCISE_FILE          // the learner's links
//   #else
//   // dz: y = tanh z in the forward pass, so dy/dz = 1 − y².
//   double dz_by_hand(double y) { return 1 - y * y; }
//   #endif
//   ...
//   tg::Grader grade(lesson, 1e-12);   // tolerance for "close"
//   const double dz = grade("dz", [&] { return dz_by_hand(Y); }, z.grad()(0));
//   ...
//   grade.finish();                    // the summary, and one lesson check: every link ✓
//   return lesson.finish();
//
// A link returns a double or an Array<double> (any arithmetic T); the third argument is the
// reference, normally the tape's gradient. grade() returns the learner's value when it is
// exact or close, and the reference otherwise, so one wrong link does not make every later
// one wrong: each link is graded on its own. Stub bodies:
//
//   Array<double> dw_by_hand(const Array<double>& dp, const Array<double>& x) {
//     // TODO: p_i = w_i x_i in the forward pass, so dw_i = …
//     tg::todo();
//   }
#pragma once
#include <algorithm>
#include <cmath>
#include <exception>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "autograd/autograd.hpp"
#include "lesson.hpp"

namespace tg {

// Thrown by tg::todo(): the link has not been written yet.
struct NotYetWritten : std::exception {
  const char* what() const noexcept override { return "not yet written (tg::todo())"; }
};

// The body of a link still to be derived. [[noreturn]]: a stub needs no return statement.
[[noreturn]] inline void todo() { throw NotYetWritten{}; }

class Grader {
 public:
  // tol: the largest max |mine − reference| still graded "close".
  Grader(Lesson& lesson, double tol) : lesson_(lesson), tol_(tol) {
#ifdef TG_EXERCISE_FILE
    fmt::print("\nExercise mode: the hand-derived links come from\n  {}\n", TG_EXERCISE_FILE);
#endif
  }

  // Runs derive(), grades its result against reference, prints one line, and returns the
  // value the lesson carries on with (the learner's if ✓, else the reference).
  template <class F, class R = std::decay_t<std::invoke_result_t<F&>>>
  R operator()(const std::string& name, F&& derive, const std::type_identity_t<R>& reference) {
    ++links_;
    try {
      R mine = derive();
      const double diff = max_abs_diff(mine, reference);
      if (diff == 0) {
        ++exact_;
        print(name, "✓ exact");
        return mine;
      }
      if (diff <= tol_) {  // false for NaN
        ++close_;
        print(name, fmt::format("✓ close (max diff {:.1e})", diff));
        return mine;
      }
      ++wrong_;
      print(name, std::isinf(diff) ? "✗ WRONG (shape or NaN)" : fmt::format("✗ WRONG (max diff {:.1e})", diff), true);
    } catch (const NotYetWritten&) {
      ++not_yet_;
      print(name, "· not yet written", true);
    } catch (const std::exception& e) {
      ++wrong_;
      print(name, fmt::format("✗ WRONG (threw: {})", e.what()), true);
    }
    return reference;
  }

  // The tally, and one check on the lesson: every link exact or close.
  void finish() {
    fmt::print("\nLinks derived by hand: {} exact, {} close, {} wrong, {} not yet written (of {})\n", exact_, close_,
               wrong_, not_yet_, links_);
    lesson_.check("every hand-derived link is exact or close", double(wrong_ + not_yet_), 0.0, 0.0);
  }

 private:
  // One line per link; a link that failed says what the lesson carries on with.
  void print(const std::string& name, const std::string& status, bool replaced = false) const {
    fmt::print("  link {:<12} {}{}\n", name, status, replaced ? "; the next links use the tape's" : "");
  }

  template <class A>
  static double max_abs_diff(const A& a, const A& b) {
    if constexpr (std::is_arithmetic_v<A>) {
      const double d = std::abs(double(a) - double(b));
      return std::isnan(d) ? INFINITY : d;
    } else {
      if (a.dimension() != b.dimension() || !std::equal(a.shape().begin(), a.shape().end(), b.shape().begin()))
        return INFINITY;
      double d = 0;
      for (std::size_t i = 0; i < a.size(); ++i) {
        const double e = std::abs(double(a.data()[i]) - double(b.data()[i]));
        if (std::isnan(e)) return INFINITY;
        d = std::max(d, e);
      }
      return d;
    }
  }

  Lesson& lesson_;
  double tol_;
  int links_ = 0, exact_ = 0, close_ = 0, wrong_ = 0, not_yet_ = 0;
};

}  // namespace tg
