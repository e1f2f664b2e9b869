"""Actors: supervision trees, prioritised mailboxes, dead letters (after Erlang/OTP, Akka)."""
