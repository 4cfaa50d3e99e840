#ifndef ALCATRAZ_CSHIMS_H
#define ALCATRAZ_CSHIMS_H
// C helpers that Swift cannot express directly. Each function is small and documented here.
#include <stdint.h>
#include "sandbox_shims.h"
#endif
