"""CRM connectors: events in from the CRM, results out to its timeline."""
