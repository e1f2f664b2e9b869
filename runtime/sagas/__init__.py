"""Sagas: definitions, the pure state machine, the executor and its service."""
