// Module PVMAssembler: see docs/architecture.md for its role.
