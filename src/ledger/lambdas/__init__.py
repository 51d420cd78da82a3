"""AWS Lambda entry points: a few lines each; they build from settings once per container."""
