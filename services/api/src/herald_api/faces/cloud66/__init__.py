"""The Cloud 66 face: account notifications."""
