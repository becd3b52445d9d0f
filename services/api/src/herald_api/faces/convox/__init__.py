"""The Convox face: integrations."""
