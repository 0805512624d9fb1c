"""The example project that shows django-resilient-queue at work."""
