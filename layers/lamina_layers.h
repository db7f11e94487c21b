#pragma once
/// Everything in lamina's layers module.
#include "lamina/layers/activations.h"
#include "lamina/layers/config.h"
#include "lamina/layers/constraints.h"
#include "lamina/layers/core_layers.h"
#include "lamina/layers/dense.h"
#include "lamina/layers/dropout.h"
#include "lamina/layers/initializers.h"
#include "lamina/layers/layer.h"
#include "lamina/layers/model.h"
#include "lamina/layers/normalization.h"
#include "lamina/layers/registry.h"
#include "lamina/layers/regularizers.h"
