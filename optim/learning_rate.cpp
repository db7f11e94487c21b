#include "lamina/optim/learning_rate.h"

#include "lamina/core/error.h"

namespace lamina::optim {

void LearningRate::check_schedule() const {
  LAMINA_CHECK(schedule_ != nullptr, ValueError, "[LearningRate] the learning-rate schedule is null");
}

}  // namespace lamina::optim
