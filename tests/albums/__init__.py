"""Tests of albums and share links."""
