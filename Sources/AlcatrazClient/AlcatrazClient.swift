// AlcatrazClient: async/await client for alcatrazd (see Connection.swift).
@_exported import WireProtocol
