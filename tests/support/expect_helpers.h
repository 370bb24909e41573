// Small assertion helpers shared by the tests.
#pragma once
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/tensor.h"

namespace onnxquant::test {

// A tensor's elements as a vector of T (for EXPECT_EQ against literals).
template <typename T>
std::vector<T> values(const Tensor& t) {
  auto s = t.as<T>();
  return {s.begin(), s.end()};
}

// Expects `f` to throw a DataError whose message contains every fragment.
template <typename F>
void expect_data_error(F&& f, std::initializer_list<std::string> fragments) {
  try {
    f();
    ADD_FAILURE() << "no DataError thrown";
  } catch (const DataError& e) {
    for (const auto& frag : fragments) EXPECT_NE(std::string(e.what()).find(frag), std::string::npos) << "'" << frag << "' not in: " << e.what();
  }
}

// Expects `f` to throw an E whose message contains `fragment`.
template <typename E, typename F>
void expect_error(F&& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no exception thrown (wanted one containing '" << fragment << "')";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << "'" << fragment << "' not in: " << e.what();
  }
}

}  // namespace onnxquant::test
