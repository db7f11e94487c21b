#pragma once
/// Everything in lamina's optim module: optimizers, learning-rate schedules, clipping.
#include "lamina/optim/adagrad.h"
#include "lamina/optim/adam.h"
#include "lamina/optim/clipping.h"
#include "lamina/optim/factory.h"
#include "lamina/optim/learning_rate.h"
#include "lamina/optim/optimizer.h"
#include "lamina/optim/rmsprop.h"
#include "lamina/optim/schedules.h"
#include "lamina/optim/sgd.h"
