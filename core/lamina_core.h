#pragma once
/// Everything in lamina's core module.
#include "lamina/core/allocator.h"
#include "lamina/core/dtype.h"
#include "lamina/core/error.h"
#include "lamina/core/isa.h"
#include "lamina/core/ops/binary.h"
#include "lamina/core/ops/reduce.h"
#include "lamina/core/ops/softmax.h"
#include "lamina/core/ops/unary.h"
#include "lamina/core/random.h"
#include "lamina/core/shape.h"
#include "lamina/core/tensor.h"
#include "lamina/core/threading.h"
