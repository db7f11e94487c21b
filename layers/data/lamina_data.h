#pragma once
/// lamina data module: Dataset, IDX and CSV loaders.
#include "lamina/layers/data/csv.h"
#include "lamina/layers/data/dataset.h"
#include "lamina/layers/data/gather.h"
#include "lamina/layers/data/idx.h"
