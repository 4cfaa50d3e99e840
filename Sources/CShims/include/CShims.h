#ifndef ALCATRAZ_CSHIMS_H
#define ALCATRAZ_CSHIMS_H
// C helpers that Swift cannot express directly. Each function is small and documented in its header.
#include <stdint.h>
#include "jit_shims.h"
#include "sandbox_shims.h"
#endif
