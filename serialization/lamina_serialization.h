#pragma once
/// Everything in lamina's serialization module.
#include "lamina/serialization/json.h"
#include "lamina/serialization/model_checkpoint.h"
#include "lamina/serialization/saving.h"
