"""The platform faces: each speaks one platform's wire format over `model`, `store` and `http`,
and never imports another face."""
