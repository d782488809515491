// Model-based test: random sequences of brigade operations (BrigadeModel), each applied to a
// Brigade and to a plain std::string holding the same data, compared after every step. The
// seed comes from BRIGADE_MODEL_SEED when set (to replay a failure) and is printed on any
// failure.

#include <cstdlib>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "brigade/brigade.h"
#include "gtest/gtest.h"
#include "tests/brigade/brigade_model.h"
#include "tests/brigade/test_util.h"

namespace brigade {
namespace {

using testing_util::TempFile;

uint64_t SeedFromEnvOrRandom() {
  if (const char* s = std::getenv("BRIGADE_MODEL_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device()();
}

class SeededChoices : public testing_util::Choices {
 public:
  explicit SeededChoices(uint64_t seed) : rng_(seed) {}
  size_t Uniform(size_t lo, size_t hi) override {
    return std::uniform_int_distribution<size_t>(lo, hi)(rng_);
  }

 private:
  std::mt19937_64 rng_;
};

TEST(BrigadeModelTest, RandomOperationsMatchStringModel) {
  const uint64_t seed = SeedFromEnvOrRandom();
  const int steps = std::getenv("BRIGADE_MODEL_STEPS") != nullptr
                        ? std::atoi(std::getenv("BRIGADE_MODEL_STEPS"))
                        : 20000;
  SCOPED_TRACE(absl::StrCat("replay with BRIGADE_MODEL_SEED=", seed));
  SeededChoices choices(seed);
  TempFile file(testing_util::BrigadeModel::FileContent());
  testing_util::BrigadeModel model(choices, file.file());
  for (int i = 0; i < steps; ++i) {
    ASSERT_TRUE(model.Step()) << "step " << i << ": " << model.failure();
    ASSERT_TRUE(model.Check()) << "step " << i << ": " << model.failure();
  }
}

}  // namespace
}  // namespace brigade
