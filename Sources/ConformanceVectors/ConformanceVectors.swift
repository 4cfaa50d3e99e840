// Module ConformanceVectors: see docs/architecture.md for its role.
