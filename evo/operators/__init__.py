"""Variation operators for prompt genomes. Every operator takes its random generator explicitly."""
