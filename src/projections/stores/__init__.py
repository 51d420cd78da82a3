"""Read-model stores: the ReadModelStore port (projections.store) on SQLite (embedded) and on
DynamoDB (AWS, with the stream projector and the rebuild from a table scan)."""
