#pragma once
/// lamina umbrella header: includes every public header of every module.
#include "lamina/core/lamina_core.h"
#include "lamina/autograd/lamina_autograd.h"
#include "lamina/layers/lamina_layers.h"
#include "lamina/optim/lamina_optim.h"
#include "lamina/serialization/lamina_serialization.h"
