// Module JIT: see docs/architecture.md for its role.
