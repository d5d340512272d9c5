// One include for the whole engine: tensors, the tape, every op, gradcheck and inspection.
#pragma once
#include "autograd/gradcheck.hpp"
#include "autograd/inspect.hpp"
#include "autograd/ops.hpp"
#include "autograd/tape.hpp"
