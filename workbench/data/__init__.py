"""The data model and its edges: schema and validation, readers, the demo study, the store."""
