// Module Sandbox: see docs/architecture.md for its role.
