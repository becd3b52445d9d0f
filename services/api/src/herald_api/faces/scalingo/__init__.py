"""The Scalingo face: notifiers, apps, legacy notifications and alerts."""
