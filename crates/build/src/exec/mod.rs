//! Running a parsed build: stages, steps, layers, cache.
