"""HTTP: routes, request and response shapes, auth, pages, and the CLI entry point."""
