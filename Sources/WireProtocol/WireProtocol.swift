// Module WireProtocol: see docs/architecture.md for its role.
