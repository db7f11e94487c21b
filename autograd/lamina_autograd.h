#pragma once
/// Everything in lamina's autograd module.
#include "lamina/autograd/ops.h"
#include "lamina/autograd/tape.h"
#include "lamina/autograd/variable.h"
#include "lamina/autograd/indexing.h"
#include "lamina/autograd/nn.h"
