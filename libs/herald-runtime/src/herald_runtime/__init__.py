"""The service shell shared by every Herald process."""
