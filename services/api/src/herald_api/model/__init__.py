"""The notifier model shared by the faces: type_data validation, platforms, chat hosts,
defaults, webhook secrets, sample and platform events."""
