"""The ground floor every layer shares: configuration files, and (see docs) more to come."""
