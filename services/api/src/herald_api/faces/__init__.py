"""The platform faces: each speaks one platform's wire format over `model`, `store` and `http`,
and never imports another face. Nothing below imports a face: only the app and the route
declarations do (`tests/unit/test_import_boundary.py`)."""
