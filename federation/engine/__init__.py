"""The engine: batched, concurrent fetch → identity → merge, per request."""
